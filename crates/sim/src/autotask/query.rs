//! Autotask `QueryModel` parsing and filter evaluation.
//!
//! Filters are `{"op","field","value"}` leaves or `{"op":"and"|"or","items":[...]}` groups; the
//! top-level array is an implicit `and`. Field names and string comparisons are
//! case-insensitive, as SQL Server's default collation makes them on the real API.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::schema::{DataType, Entity, Record};

/// Pages hold at most this many records, and `MaxRecords` may not ask for more.
pub(crate) const PAGE_SIZE: usize = 500;

/// Autotask refuses a call with more `or` conditions than this.
const MAX_OR_CONDITIONS: usize = 500;

/// A parsed query.
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) filter: Vec<Filter>,
    pub(crate) max_records: usize,
    pub(crate) include_fields: Option<Vec<String>>,
}

/// One filter node.
#[derive(Debug, Clone)]
pub(crate) enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Leaf {
        op: Op,
        field: &'static str,
        ty: DataType,
        value: Value,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    BeginsWith,
    EndsWith,
    Contains,
    Exist,
    NotExist,
    In,
    NotIn,
}

impl Op {
    fn parse(op: &str) -> Option<Self> {
        Some(match op.to_ascii_lowercase().as_str() {
            "eq" => Self::Eq,
            "noteq" => Self::NotEq,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "beginswith" => Self::BeginsWith,
            "endswith" => Self::EndsWith,
            "contains" => Self::Contains,
            "exist" => Self::Exist,
            "notexist" => Self::NotExist,
            "in" => Self::In,
            "notin" => Self::NotIn,
            _ => return None,
        })
    }
}

/// A key of a JSON object, case-insensitively (`Filter` and `filter` both work).
pub(crate) fn get_ci<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

impl Query {
    /// Parse a `QueryModel` for `entity`. Errors are the messages the API returns.
    pub(crate) fn parse(entity: Entity, model: &Value) -> Result<Self, String> {
        let object = model
            .as_object()
            .ok_or("The query must be a JSON object.")?;
        let filters = match get_ci(object, "filter") {
            Some(Value::Array(items)) => items,
            Some(_) => return Err("filter must be an array.".into()),
            None => return Err("A query must contain at least one filter.".into()),
        };
        if filters.is_empty() {
            return Err("A query must contain at least one filter.".into());
        }
        let filter = filters
            .iter()
            .map(|f| parse_filter(entity, f))
            .collect::<Result<Vec<_>, _>>()?;
        let or_conditions: usize = filter.iter().map(count_or_conditions).sum();
        if or_conditions > MAX_OR_CONDITIONS {
            return Err(format!(
                "A query may contain at most {MAX_OR_CONDITIONS} OR conditions; this one has {or_conditions}."
            ));
        }
        let max_records = match get_ci(object, "MaxRecords") {
            None | Some(Value::Null) => PAGE_SIZE,
            Some(v) => match v.as_u64() {
                Some(n) if (1..=PAGE_SIZE as u64).contains(&n) => n as usize,
                _ => return Err(format!("MaxRecords must be between 1 and {PAGE_SIZE}.")),
            },
        };
        let include_fields = match get_ci(object, "IncludeFields") {
            None | Some(Value::Null) => None,
            Some(Value::Array(names)) if names.is_empty() => None,
            Some(Value::Array(names)) => {
                let mut out = Vec::new();
                for name in names {
                    let name = name.as_str().ok_or("IncludeFields must be strings.")?;
                    let field = entity.field(name).ok_or_else(|| unknown(entity, name))?;
                    out.push(field.name.to_string());
                }
                Some(out)
            }
            Some(_) => return Err("IncludeFields must be an array.".into()),
        };
        Ok(Self {
            filter,
            max_records,
            include_fields,
        })
    }

    /// Whether `record` passes every top-level filter.
    pub(crate) fn matches(&self, record: &Record) -> bool {
        self.filter.iter().all(|f| f.matches(record))
    }
}

fn unknown(entity: Entity, name: &str) -> String {
    format!("Unable to find {name} in the {} entity.", entity.singular())
}

fn count_or_conditions(filter: &Filter) -> usize {
    match filter {
        Filter::Or(items) => items.len() + items.iter().map(count_or_conditions).sum::<usize>(),
        Filter::And(items) => items.iter().map(count_or_conditions).sum(),
        Filter::Leaf { .. } => 0,
    }
}

fn parse_filter(entity: Entity, node: &Value) -> Result<Filter, String> {
    let object = node.as_object().ok_or("Each filter must be an object.")?;
    let op = get_ci(object, "op")
        .and_then(Value::as_str)
        .ok_or("Each filter needs an op.")?;
    if op.eq_ignore_ascii_case("and") || op.eq_ignore_ascii_case("or") {
        let items = get_ci(object, "items")
            .and_then(Value::as_array)
            .filter(|items| !items.is_empty())
            .ok_or_else(|| format!("The {op} filter needs items."))?;
        let items = items
            .iter()
            .map(|f| parse_filter(entity, f))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if op.eq_ignore_ascii_case("and") {
            Filter::And(items)
        } else {
            Filter::Or(items)
        });
    }
    let op = Op::parse(op).ok_or_else(|| format!("Unknown filter operator {op}."))?;
    if get_ci(object, "udf").and_then(Value::as_bool) == Some(true) {
        return Err("No user-defined fields are defined in this database.".into());
    }
    let name = get_ci(object, "field")
        .and_then(Value::as_str)
        .ok_or("Each filter needs a field.")?;
    let field = entity.field(name).ok_or_else(|| unknown(entity, name))?;
    let value = get_ci(object, "value").cloned().unwrap_or(Value::Null);
    match op {
        Op::Exist | Op::NotExist => {}
        Op::In | Op::NotIn => {
            let values = value
                .as_array()
                .ok_or_else(|| format!("The {name} filter needs an array value."))?;
            for v in values {
                check_value(field.name, field.ty, v)?;
            }
        }
        Op::BeginsWith | Op::EndsWith | Op::Contains => {
            if field.ty != DataType::String || !value.is_string() {
                return Err(format!(
                    "The {op:?} operator needs a string field and value; {name} is not one."
                ));
            }
        }
        _ => check_value(field.name, field.ty, &value)?,
    }
    Ok(Filter::Leaf {
        op,
        field: field.name,
        ty: field.ty,
        value,
    })
}

fn check_value(field: &str, ty: DataType, value: &Value) -> Result<(), String> {
    let ok = match ty {
        DataType::Integer | DataType::Long => as_i64(value).is_some(),
        DataType::DateTime => as_datetime(value).is_some(),
        DataType::Boolean => as_bool(value).is_some(),
        DataType::String => value.is_string() || value.is_number(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("The value {value} is not valid for field {field}."))
    }
}

/// An integer from a JSON number or a numeric string.
pub(crate) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A timestamp from an ISO-8601 string (with or without an offset, read as UTC).
pub(crate) fn as_datetime(value: &Value) -> Option<DateTime<Utc>> {
    let text = value.as_str()?;
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_i64().map(|n| n != 0),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn compare(ty: DataType, stored: &Value, wanted: &Value) -> Option<Ordering> {
    match ty {
        DataType::Integer | DataType::Long => Some(as_i64(stored)?.cmp(&as_i64(wanted)?)),
        DataType::DateTime => Some(as_datetime(stored)?.cmp(&as_datetime(wanted)?)),
        DataType::Boolean => Some(as_bool(stored)?.cmp(&as_bool(wanted)?)),
        DataType::String => Some(
            text(stored)?
                .to_lowercase()
                .cmp(&text(wanted)?.to_lowercase()),
        ),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Filter {
    fn matches(&self, record: &Record) -> bool {
        match self {
            Filter::And(items) => items.iter().all(|f| f.matches(record)),
            Filter::Or(items) => items.iter().any(|f| f.matches(record)),
            Filter::Leaf {
                op,
                field,
                ty,
                value,
            } => {
                let stored = record.get(*field).unwrap_or(&Value::Null);
                let present = match stored {
                    Value::Null => false,
                    Value::String(s) => !s.is_empty(),
                    _ => true,
                };
                let ordering = || compare(*ty, stored, value);
                let lower = |v: &Value| text(v).map(|s| s.to_lowercase());
                match op {
                    Op::Exist => present,
                    Op::NotExist => !present,
                    Op::Eq => ordering() == Some(Ordering::Equal),
                    Op::NotEq => ordering() != Some(Ordering::Equal),
                    Op::Gt => ordering() == Some(Ordering::Greater),
                    Op::Gte => matches!(ordering(), Some(Ordering::Greater | Ordering::Equal)),
                    Op::Lt => ordering() == Some(Ordering::Less),
                    Op::Lte => matches!(ordering(), Some(Ordering::Less | Ordering::Equal)),
                    Op::BeginsWith | Op::EndsWith | Op::Contains => {
                        match (lower(stored), lower(value)) {
                            (Some(s), Some(v)) => match op {
                                Op::BeginsWith => s.starts_with(&v),
                                Op::EndsWith => s.ends_with(&v),
                                _ => s.contains(&v),
                            },
                            _ => false,
                        }
                    }
                    Op::In | Op::NotIn => {
                        let hit = value.as_array().is_some_and(|values| {
                            values
                                .iter()
                                .any(|v| compare(*ty, stored, v) == Some(Ordering::Equal))
                        });
                        hit == (*op == Op::In)
                    }
                }
            }
        }
    }
}
