//! Customers: who orders, on what terms.

use std::fmt;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::address::{Address, Contact};
use super::money::Currency;
use super::review::PaymentMethod;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CustomerStatus {
    Active,
    /// Orders are accepted but wait in finance review.
    CreditHold,
    /// No new orders.
    Inactive,
}

impl CustomerStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomerStatus::Active => "active",
            CustomerStatus::CreditHold => "credit_hold",
            CustomerStatus::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Active, Self::CreditHold, Self::Inactive]
            .into_iter()
            .find(|status| status.as_str() == s)
    }
}

impl fmt::Display for CustomerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewCustomer {
    pub code: String,
    pub name: String,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
    pub currency: Currency,
    pub credit_limit: Decimal,
    pub payment_terms_days: u32,
    pub price_tier: String,
    pub status: CustomerStatus,
    /// Whether orders may ship in parts when stock is short.
    pub allow_partial_shipment: bool,
    /// The payment methods the customer may use; empty for any.
    pub payment_methods: Vec<PaymentMethod>,
    /// Whether every order needs invoice requirements (title and tax id).
    pub requires_invoice: bool,
    /// Days of shelf life perishable goods for this customer must have left.
    pub min_shelf_life_days: Option<u32>,
}

/// A partial update; `None` keeps the current value. The code never changes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CustomerPatch {
    pub name: Option<String>,
    pub contacts: Option<Vec<Contact>>,
    pub addresses: Option<Vec<Address>>,
    pub currency: Option<Currency>,
    pub credit_limit: Option<Decimal>,
    pub payment_terms_days: Option<u32>,
    pub price_tier: Option<String>,
    pub status: Option<CustomerStatus>,
    pub allow_partial_shipment: Option<bool>,
    pub payment_methods: Option<Vec<PaymentMethod>>,
    pub requires_invoice: Option<bool>,
    pub min_shelf_life_days: Option<Option<u32>>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
    pub currency: Currency,
    pub credit_limit: Decimal,
    pub payment_terms_days: u32,
    pub price_tier: String,
    pub status: CustomerStatus,
    pub allow_partial_shipment: bool,
    pub payment_methods: Vec<PaymentMethod>,
    pub requires_invoice: bool,
    pub min_shelf_life_days: Option<u32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomerFilter {
    pub code: Option<String>,
    pub status: Option<CustomerStatus>,
    pub price_tier: Option<String>,
    /// Case-insensitive substring of the name or code.
    pub q: Option<String>,
}
