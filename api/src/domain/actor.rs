//! Who is acting, and what they may do.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

/// A staff or system role, as carried in a token's `roles` claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Admin,
    OrderManager,
    Sales,
    Finance,
    Warehouse,
    Production,
    Support,
    Integration,
}

impl Role {
    pub const ALL: [Role; 8] = [
        Role::Admin,
        Role::OrderManager,
        Role::Sales,
        Role::Finance,
        Role::Warehouse,
        Role::Production,
        Role::Support,
        Role::Integration,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::OrderManager => "order_manager",
            Role::Sales => "sales",
            Role::Finance => "finance",
            Role::Warehouse => "warehouse",
            Role::Production => "production",
            Role::Support => "support",
            Role::Integration => "integration",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<_> = Role::ALL.iter().map(Role::as_str).collect();
                format!("unknown role {s:?}; expected one of {}", known.join(", "))
            })
    }
}

/// Something an actor may be allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    CatalogRead,
    CatalogWrite,
    CustomerRead,
    CustomerWrite,
    WarehouseRead,
    WarehouseWrite,
    StockRead,
    StockReceive,
    OrderCreate,
    OrderRead,
    OrderUpdate,
    OrderCancel,
    EventRead,
    PricingRead,
    PricingWrite,
    ReviewRead,
    ReviewPolicyWrite,
    /// Read allocation plans, reservations, pick lists and transfers.
    AllocationRead,
    /// Allocate, override, release; request and cancel transfers.
    AllocationWrite,
    /// Confirm picks, record packages, ship and receive transfers.
    Fulfilment,
    /// Change the allocation policy and the geo table.
    AllocationPolicyWrite,
    /// Manage webhook subscriptions, read and replay their deliveries.
    WebhookManage,
    /// Manage carriers, their services and rate cards.
    CarrierWrite,
    /// Record tracking events and proof of delivery by hand.
    TrackingWrite,
    /// Manage courier accounts (tracking feeds and their secrets).
    CourierAccountManage,
    /// Manage marketplace connector accounts and run their syncs.
    ConnectorManage,
}

impl Permission {
    /// The staff roles holding this permission (admin holds every one).
    fn roles(self) -> &'static [Role] {
        use Role::*;
        match self {
            Permission::CatalogRead => &Role::ALL,
            Permission::CatalogWrite => &[Admin, OrderManager],
            Permission::CustomerRead => {
                &[Admin, OrderManager, Sales, Finance, Support, Integration]
            }
            Permission::CustomerWrite => &[Admin, OrderManager, Sales, Finance, Integration],
            Permission::WarehouseRead | Permission::StockRead => &Role::ALL,
            Permission::WarehouseWrite => &[Admin, Warehouse],
            Permission::StockReceive => &[Admin, Warehouse, Production, Integration],
            Permission::OrderCreate | Permission::OrderUpdate => {
                &[Admin, OrderManager, Sales, Support, Integration]
            }
            Permission::OrderRead => &Role::ALL,
            Permission::OrderCancel => &[Admin, OrderManager, Sales, Support],
            Permission::EventRead => &[Admin, OrderManager, Integration],
            Permission::PricingRead => &Role::ALL,
            Permission::PricingWrite => &[Admin, OrderManager, Sales],
            Permission::ReviewRead => &[Admin, OrderManager, Sales, Finance, Warehouse],
            Permission::ReviewPolicyWrite => &[Admin, OrderManager],
            Permission::AllocationRead => &[Admin, OrderManager, Sales, Warehouse, Support],
            Permission::AllocationWrite => &[Admin, OrderManager, Warehouse],
            Permission::Fulfilment => &[Admin, Warehouse],
            Permission::AllocationPolicyWrite => &[Admin, OrderManager],
            Permission::WebhookManage => &[Admin, Integration],
            Permission::CarrierWrite => &[Admin, OrderManager, Warehouse],
            Permission::TrackingWrite => &[Admin, Warehouse, Support, Integration],
            Permission::CourierAccountManage => &[Admin, Integration],
            Permission::ConnectorManage => &[Admin, Integration],
        }
    }

    /// Whether a partner (a token scoped to one customer) may do this, within
    /// its own customer's data.
    fn partner_allowed(self) -> bool {
        match self {
            Permission::CatalogRead
            | Permission::CustomerRead
            | Permission::OrderCreate
            | Permission::OrderRead
            | Permission::OrderUpdate
            | Permission::OrderCancel
            | Permission::EventRead => true,
            Permission::CatalogWrite
            | Permission::CustomerWrite
            | Permission::WarehouseRead
            | Permission::WarehouseWrite
            | Permission::StockRead
            | Permission::StockReceive
            | Permission::PricingRead
            | Permission::PricingWrite
            | Permission::ReviewRead
            | Permission::ReviewPolicyWrite
            | Permission::AllocationRead
            | Permission::AllocationWrite
            | Permission::Fulfilment
            | Permission::AllocationPolicyWrite
            | Permission::WebhookManage
            | Permission::CarrierWrite
            | Permission::TrackingWrite
            | Permission::CourierAccountManage
            | Permission::ConnectorManage => false,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Permission::CatalogRead => "catalog:read",
            Permission::CatalogWrite => "catalog:write",
            Permission::CustomerRead => "customers:read",
            Permission::CustomerWrite => "customers:write",
            Permission::WarehouseRead => "warehouses:read",
            Permission::WarehouseWrite => "warehouses:write",
            Permission::StockRead => "stock:read",
            Permission::StockReceive => "stock:receive",
            Permission::OrderCreate => "orders:create",
            Permission::OrderRead => "orders:read",
            Permission::OrderUpdate => "orders:update",
            Permission::OrderCancel => "orders:cancel",
            Permission::EventRead => "events:read",
            Permission::PricingRead => "pricing:read",
            Permission::PricingWrite => "pricing:write",
            Permission::ReviewRead => "reviews:read",
            Permission::ReviewPolicyWrite => "review_policy:write",
            Permission::AllocationRead => "allocation:read",
            Permission::AllocationWrite => "allocation:write",
            Permission::Fulfilment => "fulfilment",
            Permission::AllocationPolicyWrite => "allocation_policy:write",
            Permission::WebhookManage => "webhooks:manage",
            Permission::CarrierWrite => "carriers:write",
            Permission::TrackingWrite => "tracking:write",
            Permission::CourierAccountManage => "courier_accounts:manage",
            Permission::ConnectorManage => "connectors:manage",
        }
    }
}

/// An authenticated caller: a member of staff, a system, or a partner scoped to
/// one customer (`customer_id`), who never sees another customer's data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub sub: String,
    pub roles: Vec<Role>,
    pub customer_id: Option<Uuid>,
}

/// The actor lacks a permission. The message says which roles would do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forbidden {
    pub permission: Permission,
    pub partner: bool,
    pub roles: Vec<Role>,
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let needed: Vec<&str> = std::iter::once("admin")
            .chain(
                self.permission
                    .roles()
                    .iter()
                    .map(Role::as_str)
                    .filter(|r| *r != "admin"),
            )
            .collect();
        if self.partner {
            return write!(
                f,
                "partner tokens may not do this ({})",
                self.permission.as_str()
            );
        }
        let held: Vec<&str> = self.roles.iter().map(Role::as_str).collect();
        write!(
            f,
            "{} needs one of the roles {}; this token has {}",
            self.permission.as_str(),
            needed.join(", "),
            if held.is_empty() {
                "none".to_owned()
            } else {
                held.join(", ")
            }
        )
    }
}

impl Actor {
    /// The actor used by the server itself (background jobs, migrations).
    pub fn system() -> Self {
        Self {
            sub: "system".to_owned(),
            roles: vec![Role::Admin],
            customer_id: None,
        }
    }

    pub fn is_partner(&self) -> bool {
        self.customer_id.is_some()
    }

    pub fn can(&self, permission: Permission) -> bool {
        if self.is_partner() {
            // A partner token's roles do not widen what it may do.
            return permission.partner_allowed();
        }
        self.roles
            .iter()
            .any(|role| *role == Role::Admin || permission.roles().contains(role))
    }

    pub fn require(&self, permission: Permission) -> Result<(), Forbidden> {
        if self.can(permission) {
            Ok(())
        } else {
            Err(Forbidden {
                permission,
                partner: self.is_partner(),
                roles: self.roles.clone(),
            })
        }
    }

    /// Whether this actor may see data belonging to `customer_id`.
    pub fn may_see_customer(&self, customer_id: Uuid) -> bool {
        self.customer_id.is_none_or(|own| own == customer_id)
    }

    pub fn role_names(&self) -> Vec<&'static str> {
        self.roles.iter().map(Role::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(roles: &[Role]) -> Actor {
        Actor {
            sub: "t".into(),
            roles: roles.to_vec(),
            customer_id: None,
        }
    }

    #[test]
    fn admin_holds_every_permission_and_others_only_theirs() {
        assert!(staff(&[Role::Admin]).can(Permission::WarehouseWrite));
        assert!(staff(&[Role::Warehouse]).can(Permission::StockReceive));
        assert!(!staff(&[Role::Sales]).can(Permission::StockReceive));
        assert!(!staff(&[]).can(Permission::CatalogRead));
    }

    #[test]
    fn partners_are_limited_whatever_their_roles() {
        let partner = Actor {
            sub: "erp".into(),
            roles: vec![Role::Admin],
            customer_id: Some(Uuid::nil()),
        };
        assert!(partner.can(Permission::CatalogRead));
        assert!(!partner.can(Permission::CatalogWrite));
        assert!(partner.may_see_customer(Uuid::nil()));
        assert!(!partner.may_see_customer(Uuid::from_u128(1)));
    }

    #[test]
    fn roles_parse_from_their_claim_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }
}
