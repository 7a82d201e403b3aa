//! Reviews, decisions and the review policy.

use std::collections::BTreeMap;

use async_graphql::{Enum, InputObject, Json, SimpleObject};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::decimal::DecimalString;
use crate::domain::review::{
    self, Decision, DecisionInput, ReviewPolicy, ReviewStage, ReviewStatus, StagePolicy,
};
use crate::domain::validation::{FieldError, Parse, Violations, code, optional_text};
use crate::service::reviews::Review as ReviewRecord;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Decided by `sales`.
    Sales,
    /// Decided by `finance`.
    Finance,
    /// Decided by `warehouse`.
    Inventory,
    /// Decided by `order_manager`.
    Final,
}

impl From<Stage> for ReviewStage {
    fn from(s: Stage) -> Self {
        match s {
            Stage::Sales => Self::Sales,
            Stage::Finance => Self::Finance,
            Stage::Inventory => Self::Inventory,
            Stage::Final => Self::Final,
        }
    }
}

impl From<ReviewStage> for Stage {
    fn from(s: ReviewStage) -> Self {
        match s {
            ReviewStage::Sales => Self::Sales,
            ReviewStage::Finance => Self::Finance,
            ReviewStage::Inventory => Self::Inventory,
            ReviewStage::Final => Self::Final,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// An earlier stage is not decided yet.
    Waiting,
    /// In its owner's queue.
    Pending,
    Approved,
    Rejected,
    ChangesRequested,
    /// Replaced by a later review round.
    Superseded,
}

impl From<Status> for ReviewStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Waiting => Self::Waiting,
            Status::Pending => Self::Pending,
            Status::Approved => Self::Approved,
            Status::Rejected => Self::Rejected,
            Status::ChangesRequested => Self::ChangesRequested,
            Status::Superseded => Self::Superseded,
        }
    }
}

impl From<ReviewStatus> for Status {
    fn from(s: ReviewStatus) -> Self {
        match s {
            ReviewStatus::Waiting => Self::Waiting,
            ReviewStatus::Pending => Self::Pending,
            ReviewStatus::Approved => Self::Approved,
            ReviewStatus::Rejected => Self::Rejected,
            ReviewStatus::ChangesRequested => Self::ChangesRequested,
            ReviewStatus::Superseded => Self::Superseded,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    /// Needs a `reason_code`; rejects the order.
    Reject,
    /// Needs a `comment` saying what to change; sends the order back to
    /// `pending_info` for the customer.
    RequestChanges,
}

impl From<DecisionKind> for Decision {
    fn from(d: DecisionKind) -> Self {
        match d {
            DecisionKind::Approve => Self::Approve,
            DecisionKind::Reject => Self::Reject,
            DecisionKind::RequestChanges => Self::RequestChanges,
        }
    }
}

impl From<Decision> for DecisionKind {
    fn from(d: Decision) -> Self {
        match d {
            Decision::Approve => Self::Approve,
            Decision::Reject => Self::Reject,
            Decision::RequestChanges => Self::RequestChanges,
        }
    }
}

/// A decision on a pending review.
#[derive(Clone, Debug, Deserialize, ToSchema, InputObject)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    pub decision: DecisionKind,
    /// Required to reject, e.g. `price_too_low`, `credit_risk`.
    #[schema(example = "credit_risk")]
    pub reason_code: Option<String>,
    /// Required to request changes: what the customer should change.
    pub comment: Option<String>,
}

impl Parse<DecisionInput> for DecisionBody {
    fn parse(self) -> Result<DecisionInput, Vec<FieldError>> {
        let mut errors = Violations::new();
        let reason_code = self
            .reason_code
            .as_deref()
            .map(|r| errors.take(code("reason_code", r)));
        let comment = errors.take(optional_text("comment", self.comment.as_deref(), 2000));
        errors.finish(|| {
            Some(DecisionInput {
                decision: self.decision.into(),
                reason_code: match reason_code {
                    Some(r) => Some(r?),
                    None => None,
                },
                comment: comment?,
            })
        })
    }
}

/// How much a review finding weighs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, Enum)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record; does not hold the order.
    Info,
    /// Holds the stage for a person's decision.
    Warning,
}

/// Something a review stage found.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct ReviewFinding {
    #[schema(example = "credit_limit_exceeded")]
    pub code: String,
    pub severity: Severity,
    pub message: String,
    /// The figures behind it.
    #[schema(value_type = Object)]
    pub data: Json<serde_json::Value>,
}

impl From<review::ReviewFinding> for ReviewFinding {
    fn from(f: review::ReviewFinding) -> Self {
        Self {
            code: f.code,
            severity: match f.severity {
                review::Severity::Info => Severity::Info,
                review::Severity::Warning => Severity::Warning,
            },
            message: f.message,
            data: Json(f.data),
        }
    }
}

/// One stage of an order's review.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct Review {
    pub id: Uuid,
    pub order_id: Uuid,
    /// Each time the order enters review it starts a new round.
    pub round: i32,
    pub stage: Stage,
    pub status: Status,
    pub findings: Vec<ReviewFinding>,
    /// Why a person must decide; empty when the stage approved itself.
    pub human_reasons: Vec<String>,
    pub decision: Option<DecisionKind>,
    pub reason_code: Option<String>,
    pub comment: Option<String>,
    /// `system` for an automatic approval.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ReviewRecord> for Review {
    fn from(r: ReviewRecord) -> Self {
        Self {
            id: r.id,
            order_id: r.order_id,
            round: r.round,
            stage: r.stage.into(),
            status: r.status.into(),
            findings: r.findings.into_iter().map(Into::into).collect(),
            human_reasons: r.human_reasons,
            decision: r.decision.map(Into::into),
            reason_code: r.reason_code,
            comment: r.comment,
            decided_by: r.decided_by,
            decided_at: r.decided_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Whether a stage may approve itself when its findings are clean.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "StagePolicyInput")]
#[serde(deny_unknown_fields)]
pub struct StagePolicyBody {
    pub auto_approve: bool,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "StagePoliciesInput")]
#[serde(deny_unknown_fields)]
pub struct StagePolicies {
    pub sales: StagePolicyBody,
    pub finance: StagePolicyBody,
    pub inventory: StagePolicyBody,
    pub r#final: StagePolicyBody,
}

/// A total above which finance and final review need a person.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "TotalThresholdInput")]
#[serde(deny_unknown_fields)]
pub struct TotalThreshold {
    #[schema(example = "CNY")]
    pub currency: String,
    #[schema(example = "100000.00")]
    pub amount: DecimalString,
}

/// Which reviews need a person. A fresh install approves every stage whose
/// findings are clean; the thresholds are opt-in.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema, SimpleObject, InputObject)]
#[graphql(input_name = "ReviewPolicyInput")]
#[serde(deny_unknown_fields)]
pub struct ReviewPolicyBody {
    pub stages: StagePolicies,
    /// Finance and final review need a person above these totals.
    #[serde(default)]
    #[graphql(default)]
    pub order_total_above: Vec<TotalThreshold>,
    /// Sales review needs a person when a line is more than this many percent
    /// below the customer's reference price.
    #[schema(example = "15")]
    pub price_deviation_percent_above: Option<DecimalString>,
    /// Sales review needs a person for a customer's first order.
    #[serde(default)]
    #[graphql(default)]
    pub new_customer: bool,
}

impl Parse<ReviewPolicy> for ReviewPolicyBody {
    fn parse(self) -> Result<ReviewPolicy, Vec<FieldError>> {
        let mut errors = Violations::new();
        let mut totals = BTreeMap::new();
        for (i, threshold) in self.order_total_above.iter().enumerate() {
            let currency = errors.take(crate::domain::money::Currency::parse_field(
                &format!("order_total_above[{i}].currency"),
                &threshold.currency,
            ));
            if threshold.amount.0.is_sign_negative() {
                errors.push(
                    format!("order_total_above[{i}].amount"),
                    "negative",
                    "must not be negative",
                );
            }
            if let Some(currency) = currency
                && totals
                    .insert(currency.code().to_owned(), threshold.amount.0)
                    .is_some()
            {
                errors.push(
                    format!("order_total_above[{i}].currency"),
                    "duplicate",
                    "each currency may have one threshold",
                );
            }
        }
        if self
            .price_deviation_percent_above
            .is_some_and(|p| p.0.is_sign_negative())
        {
            errors.push(
                "price_deviation_percent_above",
                "negative",
                "must not be negative",
            );
        }
        let stage = |s: StagePolicyBody| StagePolicy {
            auto_approve: s.auto_approve,
        };
        errors.finish(|| {
            Some(ReviewPolicy {
                sales: stage(self.stages.sales),
                finance: stage(self.stages.finance),
                inventory: stage(self.stages.inventory),
                r#final: stage(self.stages.r#final),
                order_total_above: totals,
                price_deviation_percent_above: self.price_deviation_percent_above.map(|p| p.0),
                new_customer: self.new_customer,
            })
        })
    }
}

impl From<ReviewPolicy> for ReviewPolicyBody {
    fn from(p: ReviewPolicy) -> Self {
        let stage = |s: &StagePolicy| StagePolicyBody {
            auto_approve: s.auto_approve,
        };
        Self {
            stages: StagePolicies {
                sales: stage(&p.sales),
                finance: stage(&p.finance),
                inventory: stage(&p.inventory),
                r#final: stage(&p.r#final),
            },
            order_total_above: p
                .order_total_above
                .into_iter()
                .map(|(currency, amount)| TotalThreshold {
                    currency,
                    amount: amount.into(),
                })
                .collect(),
            price_deviation_percent_above: p.price_deviation_percent_above.map(Into::into),
            new_customer: p.new_customer,
        }
    }
}

/// A decision's outcome: the decided review and the order as it now stands.
#[derive(Clone, Debug, Serialize, ToSchema, SimpleObject)]
pub struct DecisionOutcome {
    pub review: Review,
    pub order: super::orders::Order,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewItems {
    pub items: Vec<Review>,
}

super::list_of!(ReviewList, Review);
