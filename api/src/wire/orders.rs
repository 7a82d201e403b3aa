//! Orders, their timeline and the event feed.

use async_graphql::{Enum, InputObject, Json, MaybeUndefined, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::decimal::DecimalString;
use crate::domain::money::Currency;
use crate::domain::order::{
    self, AddressDraft, ContactDraft, InvoiceRequirements, LineDraft, NewOrder, OrderPatch,
};
use crate::domain::review;
use crate::domain::validation::{FieldError, Parse, Violations, code, optional_text};

/// Lines per order, at most.
const MAX_LINES: usize = 500;
/// The largest quantity of one line: far beyond any order, far below overflow.
const MAX_QUANTITY: i64 = 1_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The company's own storefront.
    Web,
    /// A marketplace connector account.
    Marketplace,
    Phone,
    Fax,
    Email,
    /// A partner's ERP.
    Erp,
    Api,
}

impl From<Channel> for order::Channel {
    fn from(c: Channel) -> Self {
        match c {
            Channel::Web => Self::Web,
            Channel::Marketplace => Self::Marketplace,
            Channel::Phone => Self::Phone,
            Channel::Fax => Self::Fax,
            Channel::Email => Self::Email,
            Channel::Erp => Self::Erp,
            Channel::Api => Self::Api,
        }
    }
}

impl From<order::Channel> for Channel {
    fn from(c: order::Channel) -> Self {
        match c {
            order::Channel::Web => Self::Web,
            order::Channel::Marketplace => Self::Marketplace,
            order::Channel::Phone => Self::Phone,
            order::Channel::Fax => Self::Fax,
            order::Channel::Email => Self::Email,
            order::Channel::Erp => Self::Erp,
            order::Channel::Api => Self::Api,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Incomplete: see `findings`; supplying the data confirms it.
    PendingInfo,
    Confirmed,
    InReview,
    Approved,
    Rejected,
    Backordered,
    PartiallyAllocated,
    Allocated,
    InProduction,
    ReadyToShip,
    PartiallyShipped,
    Shipped,
    Delivered,
    Completed,
    Cancelled,
}

impl From<order::OrderStatus> for OrderStatus {
    fn from(s: order::OrderStatus) -> Self {
        use order::OrderStatus as S;
        match s {
            S::PendingInfo => Self::PendingInfo,
            S::Confirmed => Self::Confirmed,
            S::InReview => Self::InReview,
            S::Approved => Self::Approved,
            S::Rejected => Self::Rejected,
            S::Backordered => Self::Backordered,
            S::PartiallyAllocated => Self::PartiallyAllocated,
            S::Allocated => Self::Allocated,
            S::InProduction => Self::InProduction,
            S::ReadyToShip => Self::ReadyToShip,
            S::PartiallyShipped => Self::PartiallyShipped,
            S::Shipped => Self::Shipped,
            S::Delivered => Self::Delivered,
            S::Completed => Self::Completed,
            S::Cancelled => Self::Cancelled,
        }
    }
}

impl From<OrderStatus> for order::OrderStatus {
    fn from(s: OrderStatus) -> Self {
        use OrderStatus as S;
        match s {
            S::PendingInfo => Self::PendingInfo,
            S::Confirmed => Self::Confirmed,
            S::InReview => Self::InReview,
            S::Approved => Self::Approved,
            S::Rejected => Self::Rejected,
            S::Backordered => Self::Backordered,
            S::PartiallyAllocated => Self::PartiallyAllocated,
            S::Allocated => Self::Allocated,
            S::InProduction => Self::InProduction,
            S::ReadyToShip => Self::ReadyToShip,
            S::PartiallyShipped => Self::PartiallyShipped,
            S::Shipped => Self::Shipped,
            S::Delivered => Self::Delivered,
            S::Completed => Self::Completed,
            S::Cancelled => Self::Cancelled,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    BankTransfer,
    Cheque,
    WechatPay,
    Alipay,
    Card,
}

impl From<PaymentMethod> for review::PaymentMethod {
    fn from(m: PaymentMethod) -> Self {
        match m {
            PaymentMethod::Cash => Self::Cash,
            PaymentMethod::BankTransfer => Self::BankTransfer,
            PaymentMethod::Cheque => Self::Cheque,
            PaymentMethod::WechatPay => Self::WechatPay,
            PaymentMethod::Alipay => Self::Alipay,
            PaymentMethod::Card => Self::Card,
        }
    }
}

impl From<review::PaymentMethod> for PaymentMethod {
    fn from(m: review::PaymentMethod) -> Self {
        match m {
            review::PaymentMethod::Cash => Self::Cash,
            review::PaymentMethod::BankTransfer => Self::BankTransfer,
            review::PaymentMethod::Cheque => Self::Cheque,
            review::PaymentMethod::WechatPay => Self::WechatPay,
            review::PaymentMethod::Alipay => Self::Alipay,
            review::PaymentMethod::Card => Self::Card,
        }
    }
}

/// A delivery address on an order. Any part may be missing while the order
/// waits for information (`pending_info`).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "OrderAddressInput")]
#[serde(deny_unknown_fields)]
pub struct OrderAddress {
    #[schema(example = "Li Wei")]
    pub name: Option<String>,
    #[schema(example = "+86 21 5555 0101")]
    pub phone: Option<String>,
    #[schema(example = "88 Century Ave")]
    pub line1: Option<String>,
    pub line2: Option<String>,
    #[schema(example = "Shanghai")]
    pub city: Option<String>,
    #[schema(example = "SH")]
    pub region: Option<String>,
    #[schema(example = "200120")]
    pub postal_code: Option<String>,
    #[schema(example = "CN")]
    pub country: Option<String>,
}

impl OrderAddress {
    fn parse(self, path: &str, errors: &mut Violations) -> AddressDraft {
        let mut text = |field: &str, value: Option<String>| {
            errors
                .take(optional_text(
                    &format!("{path}.{field}"),
                    value.as_deref(),
                    200,
                ))
                .flatten()
        };
        AddressDraft {
            name: text("name", self.name),
            phone: text("phone", self.phone),
            line1: text("line1", self.line1),
            line2: text("line2", self.line2),
            city: text("city", self.city),
            region: text("region", self.region),
            postal_code: text("postal_code", self.postal_code),
            country: text("country", self.country),
        }
    }
}

impl From<AddressDraft> for OrderAddress {
    fn from(a: AddressDraft) -> Self {
        Self {
            name: a.name,
            phone: a.phone,
            line1: a.line1,
            line2: a.line2,
            city: a.city,
            region: a.region,
            postal_code: a.postal_code,
            country: a.country,
        }
    }
}

/// Whom to call about the order: a name, and a phone or an e-mail address.
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "OrderContactInput")]
#[serde(deny_unknown_fields)]
pub struct OrderContact {
    #[schema(example = "Li Wei")]
    pub name: Option<String>,
    #[schema(example = "+86 21 5555 0101")]
    pub phone: Option<String>,
    #[schema(example = "liwei@example.com")]
    pub email: Option<String>,
}

impl OrderContact {
    fn parse(self, path: &str, errors: &mut Violations) -> ContactDraft {
        let mut text = |field: &str, value: Option<String>| {
            errors
                .take(optional_text(
                    &format!("{path}.{field}"),
                    value.as_deref(),
                    254,
                ))
                .flatten()
        };
        ContactDraft {
            name: text("name", self.name),
            phone: text("phone", self.phone),
            email: text("email", self.email),
        }
    }
}

impl From<ContactDraft> for OrderContact {
    fn from(c: ContactDraft) -> Self {
        Self {
            name: c.name,
            phone: c.phone,
            email: c.email,
        }
    }
}

/// The invoice the customer needs (issued later, on delivery or shipment).
#[derive(Clone, Debug, Default, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "InvoiceRequirementsInput")]
#[serde(deny_unknown_fields)]
pub struct Invoice {
    /// The buyer's name as printed on the invoice (发票抬头).
    #[schema(example = "Hangzhou Trading Co.")]
    pub title: Option<String>,
    /// The buyer's tax id (税号).
    #[schema(example = "91330100MA27XXXX")]
    pub tax_id: Option<String>,
}

impl Invoice {
    fn parse(self, errors: &mut Violations) -> InvoiceRequirements {
        InvoiceRequirements {
            title: errors
                .take(optional_text("invoice.title", self.title.as_deref(), 200))
                .flatten(),
            tax_id: errors
                .take(optional_text("invoice.tax_id", self.tax_id.as_deref(), 64))
                .flatten(),
        }
    }
}

impl From<InvoiceRequirements> for Invoice {
    fn from(i: InvoiceRequirements) -> Self {
        Self {
            title: i.title,
            tax_id: i.tax_id,
        }
    }
}

/// An order line as sent.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct OrderLineInput {
    #[schema(example = "TEA-001")]
    pub sku: String,
    /// In the product's unit. A quantity that is not positive is kept and
    /// reported as a finding.
    #[schema(example = 2)]
    pub quantity: i64,
    /// In the order's currency, excluding tax; the list price when absent.
    #[serde(default)]
    #[schema(example = "88.00")]
    pub unit_price: Option<DecimalString>,
    /// The customer's custom specification: any JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub custom_spec: Option<Json<serde_json::Value>>,
}

fn parse_lines(lines: Vec<OrderLineInput>, errors: &mut Violations) -> Vec<LineDraft> {
    if lines.len() > MAX_LINES {
        errors.push(
            "lines",
            "too_many",
            format!("an order has at most {MAX_LINES} lines"),
        );
    }
    lines
        .into_iter()
        .enumerate()
        .filter_map(|(i, line)| {
            let path = |field: &str| format!("lines[{i}].{field}");
            // Any SKU is kept (marketplace SKUs can be anything); one the catalog
            // does not know is a finding, not an error.
            let sku = errors.take(crate::domain::validation::required_text(
                &path("sku"),
                &line.sku,
                200,
            ));
            if line.quantity.abs() > MAX_QUANTITY {
                errors.push(
                    path("quantity"),
                    "out_of_range",
                    format!("must be at most {MAX_QUANTITY}"),
                );
            }
            if let Some(price) = line.unit_price {
                errors.take(crate::domain::money::bounded(&path("unit_price"), price.0));
            }
            let custom_spec = line.custom_spec.map(|spec| spec.0);
            if custom_spec
                .as_ref()
                .is_some_and(|spec| !spec.is_object() && !spec.is_null())
            {
                errors.push(path("custom_spec"), "invalid_type", "must be a JSON object");
            }
            Some(LineDraft {
                sku: sku?,
                quantity: line.quantity,
                unit_price: line.unit_price.map(|p| p.0),
                custom_spec: custom_spec.filter(|spec| !spec.is_null()),
            })
        })
        .collect()
}

/// A new order. Only the channel and the lines are required; everything else
/// can be supplied later, or defaults from the customer (currency, delivery
/// address, contact). An incomplete order is kept in `pending_info`.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub channel: Channel,
    /// The account within the channel that `external_ref` belongs to (a
    /// storefront, a connector account, a partner system). Defaults to the
    /// partner's customer for partner tokens, and to none otherwise.
    pub source_account: Option<String>,
    /// The order's number in the system it came from; unique per channel and
    /// source account (a second create answers 409 with the existing order's id).
    #[schema(example = "WEB-77812")]
    pub external_ref: Option<String>,
    /// Required for staff; a partner token's own customer when absent.
    pub customer_id: Option<Uuid>,
    /// ISO 4217; the customer's currency when absent.
    #[schema(example = "CNY")]
    pub currency: Option<String>,
    /// The customer's first address when absent.
    pub ship_to: Option<OrderAddress>,
    /// The customer's first contact when absent.
    pub contact: Option<OrderContact>,
    #[serde(default)]
    #[graphql(default)]
    pub lines: Vec<OrderLineInput>,
    #[schema(example = "2026-12-05")]
    pub requested_delivery_date: Option<NaiveDate>,
    #[schema(example = "call before delivery")]
    pub special_instructions: Option<String>,
    pub invoice: Option<Invoice>,
    /// Checked in finance review against the customer's allowed methods.
    pub payment_method: Option<PaymentMethod>,
}

impl Parse<NewOrder> for OrderInput {
    fn parse(self) -> Result<NewOrder, Vec<FieldError>> {
        let mut errors = Violations::new();
        let source_account = self
            .source_account
            .as_deref()
            .map(|account| errors.take(code("source_account", account.trim())));
        let external_ref = self.external_ref.as_deref().map(|r| {
            errors
                .take(optional_text("external_ref", Some(r), 128))
                .flatten()
        });
        let currency = self
            .currency
            .as_deref()
            .map(|c| errors.take(Currency::parse_field("currency", c)));
        let ship_to = self.ship_to.map(|a| a.parse("ship_to", &mut errors));
        let contact = self.contact.map(|c| c.parse("contact", &mut errors));
        let lines = parse_lines(self.lines, &mut errors);
        let special_instructions = errors
            .take(optional_text(
                "special_instructions",
                self.special_instructions.as_deref(),
                2000,
            ))
            .flatten();
        let invoice = self.invoice.map(|i| i.parse(&mut errors));
        errors.finish(|| {
            Some(NewOrder {
                channel: self.channel.into(),
                source_account: source_account.flatten(),
                external_ref: external_ref.flatten(),
                customer_id: self.customer_id,
                currency: match currency {
                    Some(c) => Some(c?),
                    None => None,
                },
                ship_to,
                contact,
                lines,
                requested_delivery_date: self.requested_delivery_date,
                special_instructions,
                invoice,
                payment_method: self.payment_method.map(Into::into),
            })
        })
    }
}

/// Changes to an order while it is `pending_info`, `confirmed` or `in_review`;
/// absent fields stay as they are, `lines` replaces every line, `null` clears
/// a date, the instructions or the invoice requirements.
#[derive(Clone, Debug, Default, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct OrderPatchInput {
    #[serde(default, deserialize_with = "super::present")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "super::present")]
    pub ship_to: Option<OrderAddress>,
    #[serde(default, deserialize_with = "super::present")]
    pub contact: Option<OrderContact>,
    #[serde(default, deserialize_with = "super::present")]
    pub lines: Option<Vec<OrderLineInput>>,
    #[serde(default)]
    #[schema(value_type = Option<NaiveDate>)]
    pub requested_delivery_date: MaybeUndefined<NaiveDate>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub special_instructions: MaybeUndefined<String>,
    #[serde(default)]
    #[schema(value_type = Option<Invoice>)]
    pub invoice: MaybeUndefined<Invoice>,
    #[serde(default)]
    #[schema(value_type = Option<PaymentMethod>)]
    pub payment_method: MaybeUndefined<PaymentMethod>,
}

fn maybe<T, U>(value: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v))),
    }
}

impl Parse<OrderPatch> for OrderPatchInput {
    fn parse(self) -> Result<OrderPatch, Vec<FieldError>> {
        let mut errors = Violations::new();
        let currency = self
            .currency
            .as_deref()
            .map(|c| errors.take(Currency::parse_field("currency", c)));
        let ship_to = self.ship_to.map(|a| a.parse("ship_to", &mut errors));
        let contact = self.contact.map(|c| c.parse("contact", &mut errors));
        let lines = self.lines.map(|lines| parse_lines(lines, &mut errors));
        let special_instructions = maybe(self.special_instructions, |text| {
            errors
                .take(optional_text("special_instructions", Some(&text), 2000))
                .flatten()
        })
        .map(Option::flatten);
        let invoice = maybe(self.invoice, |i| i.parse(&mut errors));
        errors.finish(|| {
            Some(OrderPatch {
                currency: match currency {
                    Some(c) => Some(c?),
                    None => None,
                },
                ship_to,
                contact,
                lines,
                requested_delivery_date: maybe(self.requested_delivery_date, |d| d),
                special_instructions,
                invoice,
                payment_method: maybe(self.payment_method, Into::into),
            })
        })
    }
}

/// Why an order waits: something missing or wrong, and where.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Finding {
    #[schema(example = "unknown_sku")]
    pub code: String,
    #[schema(example = "lines[0].sku")]
    pub path: String,
    #[schema(example = "no product with SKU \"AB-9\"")]
    pub message: String,
}

impl From<order::Finding> for Finding {
    fn from(f: order::Finding) -> Self {
        Self {
            code: f.code,
            path: f.path,
            message: f.message,
        }
    }
}

/// An order line as returned; amounts in the order's currency.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct OrderLine {
    pub id: Uuid,
    pub line_no: u32,
    #[schema(example = "TEA-001")]
    pub sku: String,
    /// `null` while the SKU names no product.
    pub product_id: Option<Uuid>,
    pub quantity: i64,
    /// `null` when neither given nor derivable from a price list.
    #[schema(example = "88.00")]
    pub unit_price: Option<DecimalString>,
    /// `given`, or where the price was derived from: `customer_price_list`,
    /// `tier_price_list`, `list_price` (a derived price follows later changes).
    #[schema(example = "given")]
    pub price_source: String,
    /// `unit_price × quantity`, rounded to the currency's minor unit.
    #[schema(example = "176.00")]
    pub subtotal: DecimalString,
    #[schema(example = "0.00")]
    pub discount: DecimalString,
    /// A fraction, e.g. `"0.13"`.
    #[schema(example = "0.13")]
    pub tax_rate: DecimalString,
    #[schema(example = "22.88")]
    pub tax: DecimalString,
    /// `subtotal − discount + tax`.
    #[schema(example = "198.88")]
    pub total: DecimalString,
    #[schema(value_type = Option<Object>)]
    pub custom_spec: Option<Json<serde_json::Value>>,
}

impl From<order::OrderLine> for OrderLine {
    fn from(l: order::OrderLine) -> Self {
        Self {
            id: l.id,
            line_no: l.line_no,
            sku: l.sku,
            product_id: l.product_id,
            quantity: l.quantity,
            unit_price: l.unit_price.map(Into::into),
            price_source: l.price_source.as_str().to_owned(),
            subtotal: l.subtotal.into(),
            discount: l.discount.into(),
            tax_rate: l.tax_rate.into(),
            tax: l.tax.into(),
            total: l.total.into(),
            custom_spec: l.custom_spec.map(Json),
        }
    }
}

/// An order as returned.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[graphql(complex)]
pub struct Order {
    pub id: Uuid,
    /// `SO-<year>-<6 digits>`, given at confirmation; `null` before.
    #[schema(example = "SO-2026-000123")]
    pub number: Option<String>,
    pub status: OrderStatus,
    pub channel: Channel,
    pub source_account: Option<String>,
    #[schema(example = "WEB-77812")]
    pub external_ref: Option<String>,
    pub customer_id: Uuid,
    #[schema(example = "CNY")]
    pub currency: String,
    pub ship_to: OrderAddress,
    pub contact: OrderContact,
    pub lines: Vec<OrderLine>,
    #[schema(example = "176.00")]
    pub subtotal: DecimalString,
    #[schema(example = "0.00")]
    pub discount_total: DecimalString,
    #[schema(example = "0.00")]
    pub tax_total: DecimalString,
    #[schema(example = "176.00")]
    pub total: DecimalString,
    pub requested_delivery_date: Option<NaiveDate>,
    /// Set when the order is confirmed.
    pub promised_delivery_date: Option<NaiveDate>,
    pub special_instructions: Option<String>,
    pub invoice: Option<Invoice>,
    /// What keeps the order in `pending_info`; empty once complete.
    pub findings: Vec<Finding>,
    /// Incremented on every change; the `ETag` is `"<version>"`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    pub payment_method: Option<PaymentMethod>,
    /// The promotions applied at intake, and why.
    pub promotions: Vec<AppliedPromotion>,
    /// Set when the order is approved.
    pub approved_at: Option<DateTime<Utc>>,
    /// Set when every line was first fully reserved.
    pub allocated_at: Option<DateTime<Utc>>,
}

/// A promotion an order got.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct AppliedPromotion {
    #[schema(example = "SPRING10")]
    pub code: String,
    pub name: String,
    /// Over the whole order, in its currency.
    #[schema(example = "17.60")]
    pub discount: DecimalString,
    #[schema(example = "10% off TEA-001 from 2 units")]
    pub reason: String,
}

impl From<crate::domain::pricing::AppliedPromotion> for AppliedPromotion {
    fn from(p: crate::domain::pricing::AppliedPromotion) -> Self {
        Self {
            code: p.code,
            name: p.name,
            discount: p.discount.into(),
            reason: p.reason,
        }
    }
}

impl From<order::Order> for Order {
    fn from(o: order::Order) -> Self {
        Self {
            id: o.id,
            number: o.number,
            status: o.status.into(),
            channel: o.channel.into(),
            source_account: o.source_account,
            external_ref: o.external_ref,
            customer_id: o.customer_id,
            currency: o.currency.code().to_owned(),
            ship_to: o.ship_to.into(),
            contact: o.contact.into(),
            lines: o.lines.into_iter().map(Into::into).collect(),
            subtotal: o.subtotal.into(),
            discount_total: o.discount_total.into(),
            tax_total: o.tax_total.into(),
            total: o.total.into(),
            requested_delivery_date: o.requested_delivery_date,
            promised_delivery_date: o.promised_delivery_date,
            special_instructions: o.special_instructions,
            invoice: o.invoice.map(Into::into),
            findings: o.findings.into_iter().map(Into::into).collect(),
            version: o.version,
            created_at: o.created_at,
            updated_at: o.updated_at,
            confirmed_at: o.confirmed_at,
            cancelled_at: o.cancelled_at,
            cancel_reason: o.cancel_reason,
            payment_method: o.payment_method.map(Into::into),
            promotions: o.promotions.applied.into_iter().map(Into::into).collect(),
            approved_at: o.approved_at,
            allocated_at: o.allocated_at,
        }
    }
}

/// Why an order is cancelled.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    #[schema(example = "customer withdrew the order")]
    pub reason: String,
}

/// Who did something.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct EventActor {
    pub sub: String,
    pub roles: Vec<String>,
}

/// One entry of an order's timeline.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct TimelineEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// E.g. `order.created`, `order.updated` (with a field diff in `data.changes`),
    /// `order.confirmed`, `order.info_requested`, `order.cancelled`.
    #[serde(rename = "type")]
    #[graphql(name = "type")]
    #[schema(example = "order.confirmed")]
    pub event_type: String,
    pub actor: EventActor,
    pub channel: Option<String>,
    #[schema(value_type = Object)]
    pub data: Json<serde_json::Value>,
}

impl From<order::TimelineEntry> for TimelineEntry {
    fn from(e: order::TimelineEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            event_type: e.event_type,
            actor: EventActor {
                sub: e.actor_sub,
                roles: e.actor_roles,
            },
            channel: e.channel,
            data: Json(e.data),
        }
    }
}

/// A published event, exactly as webhook subscribers receive it:
/// `{"id", "type", "schema_version", "occurred_at", "resource": {"type", "id",
/// "version", "customer_id"}, "actor", "data"}`.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
#[serde(transparent)]
pub struct Event {
    #[schema(value_type = Object)]
    pub payload: Json<serde_json::Value>,
}

impl From<crate::service::orders::PublishedEvent> for Event {
    fn from(e: crate::service::orders::PublishedEvent) -> Self {
        Self {
            payload: Json(e.payload),
        }
    }
}

super::list_of!(OrderList, Order);
super::list_of!(TimelineList, TimelineEntry);
super::list_of!(EventList, Event);
