//! Order review: four stages (sales, finance, inventory, final), the findings
//! each computes, and the policy that decides which need a person.

use std::collections::BTreeMap;
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::actor::Role;
use super::customer::CustomerStatus;
use super::money::Currency;
use super::order::InvoiceRequirements;
use super::pricing::{AppliedPromotion, MissedPromotion, PriceSource, deviation_percent};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReviewStage {
    Sales,
    Finance,
    Inventory,
    Final,
}

impl ReviewStage {
    /// In the order they run.
    pub const ALL: [ReviewStage; 4] = [
        ReviewStage::Sales,
        ReviewStage::Finance,
        ReviewStage::Inventory,
        ReviewStage::Final,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewStage::Sales => "sales",
            ReviewStage::Finance => "finance",
            ReviewStage::Inventory => "inventory",
            ReviewStage::Final => "final",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|stage| stage.as_str() == s)
    }

    /// The role that decides this stage (admin may decide any).
    pub fn owner(&self) -> Role {
        match self {
            ReviewStage::Sales => Role::Sales,
            ReviewStage::Finance => Role::Finance,
            ReviewStage::Inventory => Role::Warehouse,
            ReviewStage::Final => Role::OrderManager,
        }
    }

    pub fn position(&self) -> i32 {
        match self {
            ReviewStage::Sales => 1,
            ReviewStage::Finance => 2,
            ReviewStage::Inventory => 3,
            ReviewStage::Final => 4,
        }
    }
}

impl fmt::Display for ReviewStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReviewStatus {
    /// An earlier stage has not been decided yet.
    Waiting,
    /// In its owner's queue.
    Pending,
    Approved,
    Rejected,
    ChangesRequested,
    /// Replaced by a later review round (the order went back for changes).
    Superseded,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 6] = [
        ReviewStatus::Waiting,
        ReviewStatus::Pending,
        ReviewStatus::Approved,
        ReviewStatus::Rejected,
        ReviewStatus::ChangesRequested,
        ReviewStatus::Superseded,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ReviewStatus::Waiting => "waiting",
            ReviewStatus::Pending => "pending",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::ChangesRequested => "changes_requested",
            ReviewStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    RequestChanges,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::RequestChanges => "request_changes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Approve, Self::Reject, Self::RequestChanges]
            .into_iter()
            .find(|d| d.as_str() == s)
    }

    pub fn outcome(&self) -> ReviewStatus {
        match self {
            Decision::Approve => ReviewStatus::Approved,
            Decision::Reject => ReviewStatus::Rejected,
            Decision::RequestChanges => ReviewStatus::ChangesRequested,
        }
    }
}

/// A decision as given: rejecting needs a reason code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionInput {
    pub decision: Decision,
    pub reason_code: Option<String>,
    pub comment: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record; does not hold the order.
    Info,
    /// Holds the stage for a person's decision.
    Warning,
}

/// Something a stage found, with the figures behind it in `data`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReviewFinding {
    pub code: String,
    pub severity: Severity,
    pub message: String,
    #[serde(default)]
    pub data: Value,
}

impl ReviewFinding {
    fn info(code: &str, message: impl Into<String>, data: Value) -> Self {
        Self {
            code: code.to_owned(),
            severity: Severity::Info,
            message: message.into(),
            data,
        }
    }

    fn warning(code: &str, message: impl Into<String>, data: Value) -> Self {
        Self {
            code: code.to_owned(),
            severity: Severity::Warning,
            message: message.into(),
            data,
        }
    }
}

/// Whether a stage may approve itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StagePolicy {
    /// Approve the stage without a person when its findings are clean.
    pub auto_approve: bool,
}

impl Default for StagePolicy {
    fn default() -> Self {
        Self { auto_approve: true }
    }
}

/// Which reviews a person must decide. A fresh install approves every stage
/// whose findings are clean; the thresholds are opt-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewPolicy {
    pub sales: StagePolicy,
    pub finance: StagePolicy,
    pub inventory: StagePolicy,
    pub r#final: StagePolicy,
    /// Finance and final review need a person above this total, per currency.
    #[serde(default)]
    pub order_total_above: BTreeMap<String, Decimal>,
    /// Sales review needs a person when a line is discounted more than this
    /// many percent below the customer's reference price.
    #[serde(default)]
    pub price_deviation_percent_above: Option<Decimal>,
    /// Sales review needs a person for a customer's first order.
    #[serde(default)]
    pub new_customer: bool,
}

impl ReviewPolicy {
    pub fn stage(&self, stage: ReviewStage) -> &StagePolicy {
        match stage {
            ReviewStage::Sales => &self.sales,
            ReviewStage::Finance => &self.finance,
            ReviewStage::Inventory => &self.inventory,
            ReviewStage::Final => &self.r#final,
        }
    }

    /// Why `stage` needs a person (empty: it may approve itself).
    pub fn human_reasons(
        &self,
        stage: ReviewStage,
        findings: &[ReviewFinding],
        facts: &PolicyFacts,
    ) -> Vec<String> {
        let mut reasons = Vec::new();
        if !self.stage(stage).auto_approve {
            reasons.push(format!(
                "the policy has {stage} reviews decided by a person"
            ));
        }
        let warnings = findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .count();
        if warnings > 0 {
            reasons.push(format!("{warnings} finding(s) need a decision"));
        }
        match stage {
            ReviewStage::Sales => {
                if self.new_customer && facts.new_customer {
                    reasons.push(
                        "the policy has a person review a new customer's first order".to_owned(),
                    );
                }
                if let (Some(limit), Some(deepest)) = (
                    self.price_deviation_percent_above,
                    facts.deepest_discount_percent,
                ) && deepest > limit
                {
                    reasons.push(format!(
                        "a line is {deepest}% below its reference price; the policy reviews more than {limit}%"
                    ));
                }
            }
            ReviewStage::Finance | ReviewStage::Final => {
                if let Some(limit) = self.order_total_above.get(facts.currency.code())
                    && facts.order_total > *limit
                {
                    reasons.push(format!(
                        "the order total {} {} is above the policy's {} {}",
                        facts.order_total, facts.currency, limit, facts.currency
                    ));
                }
            }
            ReviewStage::Inventory => {}
        }
        reasons
    }
}

/// What the policy's thresholds look at.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyFacts {
    pub currency: Currency,
    pub order_total: Decimal,
    pub new_customer: bool,
    /// The largest discount below a reference price among the lines, in percent.
    pub deepest_discount_percent: Option<Decimal>,
}

/// A line as the sales review sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct SalesLine {
    pub line_no: u32,
    pub sku: String,
    pub unit_price: Option<Decimal>,
    pub reference: Option<(Decimal, PriceSource)>,
    /// The product's list price in the order's currency, if any.
    pub list_price: Option<Decimal>,
}

pub struct SalesFacts<'a> {
    pub customer_status: CustomerStatus,
    pub lines: &'a [SalesLine],
    pub max_discount_percent: Option<Decimal>,
    pub applied: &'a [AppliedPromotion],
    pub missed: &'a [MissedPromotion],
}

/// The customer's standing, each line's price against the customer's price
/// list and the pricing policy, and the promotions applied or missed.
pub fn sales_findings(facts: &SalesFacts<'_>) -> Vec<ReviewFinding> {
    let mut findings = Vec::new();
    match facts.customer_status {
        CustomerStatus::Active => findings.push(ReviewFinding::info(
            "customer_active",
            "the customer is active",
            json!({}),
        )),
        CustomerStatus::CreditHold => findings.push(ReviewFinding::warning(
            "customer_on_credit_hold",
            "the customer is on credit hold",
            json!({}),
        )),
        CustomerStatus::Inactive => findings.push(ReviewFinding::warning(
            "customer_inactive",
            "the customer takes no new orders",
            json!({}),
        )),
    }
    for line in facts.lines {
        let (Some(price), Some((reference, source))) = (line.unit_price, line.reference) else {
            continue;
        };
        let Some(deviation) = deviation_percent(price, reference) else {
            continue;
        };
        let data = json!({
            "line_no": line.line_no, "sku": line.sku, "unit_price": price.to_string(),
            "reference_price": reference.to_string(), "reference_source": source.as_str(),
            "deviation_percent": deviation.to_string(),
            "max_discount_percent": facts.max_discount_percent.map(|m| m.to_string()),
        });
        let discount = -deviation;
        match facts.max_discount_percent {
            Some(max) if discount > max => findings.push(ReviewFinding::warning(
                "price_below_policy",
                format!(
                    "line {} ({}) is {discount}% below its {} price; the policy allows {max}%",
                    line.line_no,
                    line.sku,
                    source.as_str().replace('_', " ")
                ),
                data,
            )),
            _ if !deviation.is_zero() => findings.push(ReviewFinding::info(
                "price_deviation",
                format!(
                    "line {} ({}) is priced {deviation}% from its reference",
                    line.line_no, line.sku
                ),
                data,
            )),
            _ => {}
        }
        if source == PriceSource::CustomerPriceList
            && let Some(list) = line.list_price
            && reference < list
        {
            findings.push(ReviewFinding::info(
                "customer_specific_price",
                format!("line {} ({}) uses the customer's own price {reference} (list {list})", line.line_no, line.sku),
                json!({"line_no": line.line_no, "sku": line.sku, "customer_price": reference.to_string(), "list_price": list.to_string()}),
            ));
        }
    }
    for applied in facts.applied {
        findings.push(ReviewFinding::info(
            "promotion_applied",
            format!("promotion {} applied: {} ({})", applied.code, applied.discount, applied.reason),
            json!({"code": applied.code, "discount": applied.discount.to_string(), "reason": applied.reason}),
        ));
    }
    for missed in facts.missed {
        findings.push(ReviewFinding::info(
            "promotion_missed",
            format!("promotion {} not applied: {}", missed.code, missed.reason),
            json!({"code": missed.code, "reason": missed.reason}),
        ));
    }
    findings
}

/// How an order is to be paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Cash,
    BankTransfer,
    Cheque,
    WechatPay,
    Alipay,
    Card,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 6] = [
        PaymentMethod::Cash,
        PaymentMethod::BankTransfer,
        PaymentMethod::Cheque,
        PaymentMethod::WechatPay,
        PaymentMethod::Alipay,
        PaymentMethod::Card,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            PaymentMethod::Cash => "cash",
            PaymentMethod::BankTransfer => "bank_transfer",
            PaymentMethod::Cheque => "cheque",
            PaymentMethod::WechatPay => "wechat_pay",
            PaymentMethod::Alipay => "alipay",
            PaymentMethod::Card => "card",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

pub struct FinanceFacts<'a> {
    pub currency: Currency,
    pub customer_status: CustomerStatus,
    pub payment_method: Option<PaymentMethod>,
    /// Empty: any method.
    pub allowed_methods: &'a [PaymentMethod],
    pub payment_terms_days: u32,
    /// The order's stored totals, and the same recomputed from its lines.
    pub stored_total: Decimal,
    pub recomputed_total: Decimal,
    pub requires_invoice: bool,
    pub invoice: Option<&'a InvoiceRequirements>,
    pub credit_limit: Decimal,
    pub open_receivables: Decimal,
    pub approved_unbilled: Decimal,
    pub order_total: Decimal,
}

/// Payment method and terms, the arithmetic, invoice requirements and the
/// customer's credit exposure against its limit.
pub fn finance_findings(facts: &FinanceFacts<'_>) -> Vec<ReviewFinding> {
    let mut findings = Vec::new();
    match facts.payment_method {
        Some(method) if !facts.allowed_methods.is_empty() && !facts.allowed_methods.contains(&method) => {
            findings.push(ReviewFinding::warning(
                "payment_method_not_allowed",
                format!("the customer may not pay by {}", method.as_str()),
                json!({"payment_method": method.as_str(), "allowed": facts.allowed_methods.iter().map(PaymentMethod::as_str).collect::<Vec<_>>()}),
            ));
        }
        Some(method) => findings.push(ReviewFinding::info(
            "payment_method",
            format!("paid by {}, net {} days", method.as_str(), facts.payment_terms_days),
            json!({"payment_method": method.as_str(), "payment_terms_days": facts.payment_terms_days}),
        )),
        None => findings.push(ReviewFinding::info(
            "payment_terms",
            format!("net {} days; no payment method stated", facts.payment_terms_days),
            json!({"payment_terms_days": facts.payment_terms_days}),
        )),
    }
    if facts.stored_total != facts.recomputed_total {
        findings.push(ReviewFinding::warning(
            "totals_mismatch",
            format!(
                "the order's total {} differs from its lines' {}",
                facts.stored_total, facts.recomputed_total
            ),
            json!({"stored_total": facts.stored_total.to_string(), "recomputed_total": facts.recomputed_total.to_string()}),
        ));
    }
    let has_invoice = facts.invoice.is_some_and(|i| {
        i.title.as_deref().is_some_and(|t| !t.is_empty())
            && i.tax_id.as_deref().is_some_and(|t| !t.is_empty())
    });
    if facts.requires_invoice && !has_invoice {
        findings.push(ReviewFinding::warning(
            "invoice_requirements_missing",
            "the customer needs invoices: the order lacks an invoice title and tax id",
            json!({}),
        ));
    }
    if facts.customer_status == CustomerStatus::CreditHold {
        findings.push(ReviewFinding::warning(
            "customer_on_credit_hold",
            "the customer is on credit hold",
            json!({}),
        ));
    }
    let exposure = facts.open_receivables + facts.approved_unbilled + facts.order_total;
    let data = json!({
        "open_receivables": facts.open_receivables.to_string(),
        "approved_unbilled": facts.approved_unbilled.to_string(),
        "order_total": facts.order_total.to_string(),
        "exposure": exposure.to_string(),
        "credit_limit": facts.credit_limit.to_string(),
        "currency": facts.currency.code(),
    });
    if facts.payment_terms_days == 0 {
        findings.push(ReviewFinding::info(
            "cash_terms",
            "paid on order: no credit is extended",
            data,
        ));
    } else if exposure > facts.credit_limit {
        findings.push(ReviewFinding::warning(
            "credit_limit_exceeded",
            format!(
                "credit exposure {exposure} {} is over the limit {} by {}",
                facts.currency,
                facts.credit_limit,
                exposure - facts.credit_limit
            ),
            data,
        ));
    } else {
        findings.push(ReviewFinding::info(
            "credit_within_limit",
            format!(
                "credit exposure {exposure} of {} {}",
                facts.credit_limit, facts.currency
            ),
            data,
        ));
    }
    findings
}

/// One SKU as the inventory review sees it: the order's demand and what the
/// warehouses have available.
#[derive(Clone, Debug, PartialEq)]
pub struct InventoryLine {
    pub sku: String,
    pub lines: Vec<u32>,
    pub demand: i64,
    pub made_to_order: bool,
    /// Per warehouse code, what is available (unreserved, unexpired).
    pub available: Vec<(String, i64)>,
}

/// Availability per SKU across warehouses, and for each shortfall its remedies.
pub fn inventory_findings(
    lines: &[InventoryLine],
    allow_partial_shipment: bool,
) -> Vec<ReviewFinding> {
    lines
        .iter()
        .map(|line| {
            let total: i64 = line.available.iter().map(|(_, qty)| *qty).sum();
            let largest = line.available.iter().map(|(_, qty)| *qty).max().unwrap_or(0);
            let by_warehouse: BTreeMap<&str, i64> = line.available.iter().map(|(code, qty)| (code.as_str(), *qty)).collect();
            let mut data = json!({
                "sku": line.sku, "lines": line.lines, "demand": line.demand,
                "available": total, "by_warehouse": by_warehouse,
            });
            if line.made_to_order {
                data["remedies"] = json!(["production"]);
                return ReviewFinding::info(
                    "made_to_order",
                    format!("{} is made to order: {} to produce", line.sku, line.demand),
                    data,
                );
            }
            if total >= line.demand {
                if largest >= line.demand {
                    return ReviewFinding::info(
                        "available",
                        format!("{} of {} available, {} needed", total, line.sku, line.demand),
                        data,
                    );
                }
                data["remedies"] = json!(["split_shipment", "transfer"]);
                return ReviewFinding::info(
                    "available_across_warehouses",
                    format!(
                        "{} of {} needed: no one warehouse has them all; ship from several or transfer",
                        line.demand, line.sku
                    ),
                    data,
                );
            }
            let shortfall = line.demand - total;
            // Made-to-order lines are handled above; stock lines wait for stock.
            let mut remedies = vec!["backorder"];
            if allow_partial_shipment && total > 0 {
                remedies.push("partial_shipment");
            }
            data["shortfall"] = json!(shortfall);
            data["remedies"] = json!(remedies);
            ReviewFinding::warning(
                "shortfall",
                format!(
                    "{} of {} needed, {} available: {} short",
                    line.demand, line.sku, total, shortfall
                ),
                data,
            )
        })
        .collect()
}

/// The final review's summary: how each earlier stage was decided, and the
/// warnings a person approved there (for the record, no longer open).
pub fn final_findings(
    decided: &[(ReviewStage, String, Option<String>, Vec<ReviewFinding>)],
) -> Vec<ReviewFinding> {
    let mut findings = Vec::new();
    for (stage, by, comment, stage_findings) in decided {
        let warnings: Vec<&ReviewFinding> = stage_findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .collect();
        findings.push(ReviewFinding::info(
            "stage_approved",
            format!("{stage} review approved by {by}"),
            json!({"stage": stage.as_str(), "decided_by": by, "comment": comment, "warnings_accepted": warnings.len()}),
        ));
        for warning in warnings {
            findings.push(ReviewFinding::info(
                "accepted_warning",
                format!("{stage}: {} (accepted by {by})", warning.message),
                json!({"stage": stage.as_str(), "code": warning.code, "data": warning.data}),
            ));
        }
    }
    findings
}

/// Which stages a change to an order's data affects.
pub fn stages_affected_by(field: &str) -> &'static [ReviewStage] {
    use ReviewStage::*;
    match field {
        "lines" | "currency" | "payment_method" => &[Sales, Finance, Inventory, Final],
        "invoice" => &[Finance, Final],
        "ship_to" | "requested_delivery_date" => &[Inventory, Final],
        _ => &[Final],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn finance(limit: &str, unbilled: &str, total: &str) -> Vec<ReviewFinding> {
        finance_findings(&FinanceFacts {
            currency: Currency::parse("CNY").unwrap(),
            customer_status: CustomerStatus::Active,
            payment_method: Some(PaymentMethod::BankTransfer),
            allowed_methods: &[],
            payment_terms_days: 30,
            stored_total: dec(total),
            recomputed_total: dec(total),
            requires_invoice: false,
            invoice: None,
            credit_limit: dec(limit),
            open_receivables: Decimal::ZERO,
            approved_unbilled: dec(unbilled),
            order_total: dec(total),
        })
    }

    #[test]
    fn credit_exactly_at_the_limit_is_clean_and_a_cent_over_is_not() {
        let at = finance("1000.00", "400.00", "600.00");
        assert!(at.iter().all(|f| f.severity == Severity::Info), "{at:?}");
        let over = finance("1000.00", "400.01", "600.00");
        let warning = over
            .iter()
            .find(|f| f.severity == Severity::Warning)
            .unwrap();
        assert_eq!(warning.code, "credit_limit_exceeded");
        assert!(warning.message.contains("by 0.01"), "{}", warning.message);
    }

    #[test]
    fn a_discount_beyond_the_tier_limit_is_a_warning() {
        let lines = [SalesLine {
            line_no: 1,
            sku: "TEA".into(),
            unit_price: Some(dec("79.00")),
            reference: Some((dec("88.00"), PriceSource::ListPrice)),
            list_price: Some(dec("88.00")),
        }];
        let facts = |max: &str| SalesFacts {
            customer_status: CustomerStatus::Active,
            lines: &lines,
            max_discount_percent: Some(dec(max)),
            applied: &[],
            missed: &[],
        };
        // 79 / 88 is 10.23 % off.
        assert!(
            sales_findings(&facts("10"))
                .iter()
                .any(|f| f.code == "price_below_policy")
        );
        assert!(
            sales_findings(&facts("10.23"))
                .iter()
                .all(|f| f.severity == Severity::Info)
        );
    }

    #[test]
    fn shortfalls_offer_remedies_and_spread_stock_suggests_a_transfer() {
        let line = |available: Vec<(&str, i64)>| InventoryLine {
            sku: "TEA".into(),
            lines: vec![1],
            demand: 10,
            made_to_order: false,
            available: available
                .into_iter()
                .map(|(c, q)| (c.to_owned(), q))
                .collect(),
        };
        let short = inventory_findings(&[line(vec![("SH", 4)])], true);
        assert_eq!(short[0].code, "shortfall");
        assert_eq!(
            short[0].data["remedies"],
            json!(["backorder", "partial_shipment"])
        );
        let spread = inventory_findings(&[line(vec![("SH", 6), ("BJ", 6)])], true);
        assert_eq!(
            (spread[0].code.as_str(), spread[0].severity),
            ("available_across_warehouses", Severity::Info)
        );
    }

    #[test]
    fn thresholds_call_for_a_person_only_when_configured() {
        let facts = PolicyFacts {
            currency: Currency::parse("CNY").unwrap(),
            order_total: dec("100001.00"),
            new_customer: true,
            deepest_discount_percent: Some(dec("12")),
        };
        let default = ReviewPolicy::default();
        for stage in ReviewStage::ALL {
            assert!(default.human_reasons(stage, &[], &facts).is_empty());
        }
        let strict = ReviewPolicy {
            order_total_above: BTreeMap::from([("CNY".to_owned(), dec("100000.00"))]),
            price_deviation_percent_above: Some(dec("10")),
            new_customer: true,
            ..ReviewPolicy::default()
        };
        assert_eq!(
            strict.human_reasons(ReviewStage::Sales, &[], &facts).len(),
            2
        );
        assert_eq!(
            strict
                .human_reasons(ReviewStage::Finance, &[], &facts)
                .len(),
            1
        );
        assert_eq!(
            strict
                .human_reasons(ReviewStage::Inventory, &[], &facts)
                .len(),
            0
        );
        assert_eq!(
            strict.human_reasons(ReviewStage::Final, &[], &facts).len(),
            1
        );
    }
}
