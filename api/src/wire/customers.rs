//! Customers.

use async_graphql::{Enum, InputObject, MaybeUndefined, SimpleObject};
use chrono::{DateTime, Utc};

use super::decimal::DecimalString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::catalog::shelf_life_days;
use super::common::{Address, AddressInput, Contact, ContactInput, bounded, parse_each};
use super::orders::PaymentMethod;
use crate::domain::customer::{self, CustomerPatch, NewCustomer};
use crate::domain::money::{Currency, money};
use crate::domain::validation::{FieldError, Parse, Violations, code, required_text};

const MAX_PAYMENT_TERMS_DAYS: i64 = 365;
const MAX_CONTACTS: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum CustomerStatus {
    Active,
    /// Orders are accepted but wait in finance review.
    CreditHold,
    /// No new orders.
    Inactive,
}

impl From<customer::CustomerStatus> for CustomerStatus {
    fn from(s: customer::CustomerStatus) -> Self {
        match s {
            customer::CustomerStatus::Active => Self::Active,
            customer::CustomerStatus::CreditHold => Self::CreditHold,
            customer::CustomerStatus::Inactive => Self::Inactive,
        }
    }
}

impl From<CustomerStatus> for customer::CustomerStatus {
    fn from(s: CustomerStatus) -> Self {
        match s {
            CustomerStatus::Active => Self::Active,
            CustomerStatus::CreditHold => Self::CreditHold,
            CustomerStatus::Inactive => Self::Inactive,
        }
    }
}

/// A customer as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Customer {
    pub id: Uuid,
    #[schema(example = "C-1001")]
    pub code: String,
    #[schema(example = "Hangzhou Trading Co.")]
    pub name: String,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
    #[schema(example = "CNY")]
    pub currency: String,
    #[schema(example = "50000.00")]
    pub credit_limit: DecimalString,
    #[schema(example = 30)]
    pub payment_terms_days: u32,
    #[schema(example = "wholesale")]
    pub price_tier: String,
    pub status: CustomerStatus,
    /// Whether orders may ship in parts when stock is short.
    pub allow_partial_shipment: bool,
    /// The payment methods the customer may use; empty for any.
    pub payment_methods: Vec<PaymentMethod>,
    /// Whether orders need invoice requirements (title and tax id).
    pub requires_invoice: bool,
    /// Days of shelf life perishable goods for this customer must have left
    /// when allocated; `null` for the products' own minimums.
    pub min_shelf_life_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<customer::Customer> for Customer {
    fn from(c: customer::Customer) -> Self {
        Self {
            id: c.id,
            code: c.code,
            name: c.name,
            contacts: c.contacts.into_iter().map(Into::into).collect(),
            addresses: c.addresses.into_iter().map(Into::into).collect(),
            currency: c.currency.code().to_owned(),
            credit_limit: c.credit_limit.into(),
            payment_terms_days: c.payment_terms_days,
            price_tier: c.price_tier,
            status: c.status.into(),
            allow_partial_shipment: c.allow_partial_shipment,
            payment_methods: c.payment_methods.into_iter().map(Into::into).collect(),
            requires_invoice: c.requires_invoice,
            min_shelf_life_days: c.min_shelf_life_days,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A new customer.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Unique; letters, digits and `-_./`. Never changes.
    #[schema(example = "C-1001")]
    pub code: String,
    #[schema(example = "Hangzhou Trading Co.")]
    pub name: String,
    #[serde(default)]
    #[graphql(default)]
    pub contacts: Vec<ContactInput>,
    #[serde(default)]
    #[graphql(default)]
    pub addresses: Vec<AddressInput>,
    /// ISO 4217; the currency of the credit limit and of invoices.
    #[schema(example = "CNY")]
    pub currency: String,
    /// Defaults to `"0"`.
    #[serde(default)]
    #[schema(example = "50000.00")]
    pub credit_limit: Option<DecimalString>,
    /// Net days; 0 (cash) to 365. Defaults to 0.
    #[schema(example = 30)]
    pub payment_terms_days: Option<i64>,
    /// Defaults to `standard`.
    #[schema(example = "wholesale")]
    pub price_tier: Option<String>,
    /// Defaults to `active`.
    pub status: Option<CustomerStatus>,
    /// Defaults to `true`.
    pub allow_partial_shipment: Option<bool>,
    /// Defaults to any.
    #[serde(default)]
    #[graphql(default)]
    pub payment_methods: Vec<PaymentMethod>,
    /// Defaults to `false`.
    pub requires_invoice: Option<bool>,
    /// Days of shelf life perishable goods must have left when allocated for
    /// this customer, 0 to 3650; the larger of this and the product's applies.
    pub min_shelf_life_days: Option<i64>,
}

impl Parse<NewCustomer> for CustomerInput {
    fn parse(self) -> Result<NewCustomer, Vec<FieldError>> {
        let mut errors = Violations::new();
        let code = errors.take(code("code", &self.code));
        let name = errors.take(required_text("name", &self.name, 200));
        let contacts = parse_contacts(&self.contacts, &mut errors);
        let addresses = parse_each(
            "addresses",
            &self.addresses,
            &mut errors,
            |a, path, errors| a.to_address(path, errors),
        );
        let currency = errors.take(Currency::parse_field("currency", &self.currency));
        let credit_limit = errors.take(money(
            "credit_limit",
            self.credit_limit.unwrap_or_default().0,
        ));
        let terms = bounded(
            "payment_terms_days",
            self.payment_terms_days.unwrap_or(0),
            0..=MAX_PAYMENT_TERMS_DAYS,
            &mut errors,
        );
        let price_tier = errors.take(
            self.price_tier
                .as_deref()
                .map_or(Ok("standard".to_owned()), |t| {
                    crate::domain::validation::code("price_tier", t)
                }),
        );
        let shelf_life = self
            .min_shelf_life_days
            .map(|days| shelf_life_days("min_shelf_life_days", days, &mut errors));
        errors.finish(|| {
            Some(NewCustomer {
                code: code?,
                name: name?,
                contacts: contacts?,
                addresses: addresses?,
                currency: currency?,
                credit_limit: credit_limit?,
                payment_terms_days: u32::try_from(terms?).ok()?,
                price_tier: price_tier?,
                status: self.status.unwrap_or(CustomerStatus::Active).into(),
                allow_partial_shipment: self.allow_partial_shipment.unwrap_or(true),
                payment_methods: self
                    .payment_methods
                    .iter()
                    .copied()
                    .map(Into::into)
                    .collect(),
                requires_invoice: self.requires_invoice.unwrap_or(false),
                min_shelf_life_days: match shelf_life {
                    Some(days) => Some(days?),
                    None => None,
                },
            })
        })
    }
}

fn parse_contacts(
    contacts: &[ContactInput],
    errors: &mut Violations,
) -> Option<Vec<crate::domain::address::Contact>> {
    if contacts.len() > MAX_CONTACTS {
        errors.push(
            "contacts",
            "too_many",
            format!("at most {MAX_CONTACTS} contacts"),
        );
        return None;
    }
    parse_each("contacts", contacts, errors, |c, path, errors| {
        c.to_contact(path, errors)
    })
}

/// Changes to a customer; absent fields stay as they are. Lists (`contacts`,
/// `addresses`) are replaced as a whole. The code cannot change.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatchInput {
    #[serde(default, deserialize_with = "super::present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub contacts: Option<Vec<ContactInput>>,
    #[serde(default, deserialize_with = "super::present")]
    pub addresses: Option<Vec<AddressInput>>,
    #[serde(default, deserialize_with = "super::present")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub credit_limit: Option<DecimalString>,
    #[serde(default, deserialize_with = "super::present")]
    pub payment_terms_days: Option<i64>,
    #[serde(default, deserialize_with = "super::present")]
    pub price_tier: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub status: Option<CustomerStatus>,
    #[serde(default, deserialize_with = "super::present")]
    pub allow_partial_shipment: Option<bool>,
    #[serde(default, deserialize_with = "super::present")]
    pub payment_methods: Option<Vec<PaymentMethod>>,
    #[serde(default, deserialize_with = "super::present")]
    pub requires_invoice: Option<bool>,
    /// `null` removes the customer's own minimum.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub min_shelf_life_days: MaybeUndefined<i64>,
}

impl Parse<CustomerPatch> for CustomerPatchInput {
    fn parse(self) -> Result<CustomerPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let name = self
            .name
            .as_deref()
            .map(|n| errors.take(required_text("name", n, 200)));
        let contacts = self
            .contacts
            .as_deref()
            .map(|c| parse_contacts(c, &mut errors));
        let addresses = self.addresses.as_deref().map(|a| {
            parse_each("addresses", a, &mut errors, |a, path, errors| {
                a.to_address(path, errors)
            })
        });
        let currency = self
            .currency
            .as_deref()
            .map(|c| errors.take(Currency::parse_field("currency", c)));
        let credit_limit = self
            .credit_limit
            .map(|l| errors.take(money("credit_limit", l.0)));
        let terms = self.payment_terms_days.map(|t| {
            bounded(
                "payment_terms_days",
                t,
                0..=MAX_PAYMENT_TERMS_DAYS,
                &mut errors,
            )
        });
        let price_tier = self
            .price_tier
            .as_deref()
            .map(|t| errors.take(code("price_tier", t)));
        let shelf_life = match self.min_shelf_life_days {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(days) => {
                Some(shelf_life_days("min_shelf_life_days", days, &mut errors))
            }
        };
        errors.finish(|| {
            Some(CustomerPatch {
                name: name.flatten(),
                contacts: contacts.flatten(),
                addresses: addresses.flatten(),
                currency: currency.flatten(),
                credit_limit: credit_limit.flatten(),
                payment_terms_days: match terms {
                    Some(t) => Some(u32::try_from(t?).ok()?),
                    None => None,
                },
                price_tier: price_tier.flatten(),
                status: self.status.map(Into::into),
                allow_partial_shipment: self.allow_partial_shipment,
                payment_methods: self
                    .payment_methods
                    .map(|methods| methods.into_iter().map(Into::into).collect()),
                requires_invoice: self.requires_invoice,
                min_shelf_life_days: shelf_life,
            })
        })
    }
}

super::list_of!(CustomerList, Customer);
