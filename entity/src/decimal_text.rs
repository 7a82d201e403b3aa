use std::str::FromStr;

use rust_decimal::Decimal;
use sea_orm::sea_query::{self, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, DbErr, QueryResult, TryGetError, TryGetable};

/// A `Decimal` stored as text.
///
/// sea-orm reads SQLite decimals through `f64`, which silently rounds values with
/// more than ~15 significant digits. Text keeps every digit and the scale
/// (`"88.00"` stays `"88.00"`) on both databases; arithmetic happens in Rust.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DecimalText(pub Decimal);

impl From<Decimal> for DecimalText {
    fn from(value: Decimal) -> Self {
        Self(value)
    }
}

impl From<DecimalText> for Decimal {
    fn from(value: DecimalText) -> Self {
        value.0
    }
}

impl From<DecimalText> for sea_query::Value {
    fn from(value: DecimalText) -> Self {
        value.0.to_string().into()
    }
}

impl TryGetable for DecimalText {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        let text = <String as TryGetable>::try_get_by(res, index)?;
        Decimal::from_str(&text).map(Self).map_err(|e| {
            TryGetError::DbErr(DbErr::Type(format!(
                "stored decimal {text:?} is invalid: {e}"
            )))
        })
    }
}

impl ValueType for DecimalText {
    fn try_from(v: sea_query::Value) -> Result<Self, ValueTypeErr> {
        match v {
            sea_query::Value::String(Some(s)) => {
                Decimal::from_str(&s).map(Self).map_err(|_| ValueTypeErr)
            }
            _ => Err(ValueTypeErr),
        }
    }

    fn type_name() -> String {
        "DecimalText".to_owned()
    }

    fn array_type() -> sea_query::ArrayType {
        <String as ValueType>::array_type()
    }

    fn column_type() -> sea_query::ColumnType {
        sea_query::ColumnType::Text
    }
}

impl sea_query::Nullable for DecimalText {
    fn null() -> sea_query::Value {
        <String as sea_query::Nullable>::null()
    }
}

impl sea_orm::IntoActiveValue<DecimalText> for DecimalText {
    fn into_active_value(self) -> sea_orm::ActiveValue<DecimalText> {
        sea_orm::ActiveValue::Set(self)
    }
}
