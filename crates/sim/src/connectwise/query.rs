//! The ConnectWise query language the simulator understands: `conditions` / `childConditions`
//! expressions, `orderBy`, `fields` projection and page-numbered paging.
//!
//! Conditions are evaluated against the full JSON rendering of an entity (nulls kept), so a
//! field that the entity does not have is an error, as on the real server, while a field that is
//! merely empty compares as null.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// A parse or evaluation failure, reported to the client as a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryError(pub(crate) String);

type Result<T> = std::result::Result<T, QueryError>;

fn fail<T>(message: impl Into<String>) -> Result<T> {
    Err(QueryError(message.into()))
}

/// A literal on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
    Date(DateTime<Utc>),
    List(Vec<Literal>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
    Contains,
    In,
    NotIn,
}

/// A parsed condition expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare {
        field: String,
        op: Op,
        value: Literal,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Text(String),
    Number(f64),
    Date(DateTime<Utc>),
    Op(&'static str),
    Open,
    Close,
    Comma,
}

fn tokenize(input: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '"' | '\'' => {
                let quote = c;
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return fail(format!("unterminated string in conditions: {input}")),
                        Some('\\') if chars.get(i + 1).is_some() => {
                            text.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            text.push(ch);
                            i += 1;
                        }
                    }
                }
                tokens.push(Token::Text(text));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&ch| ch == ']')
                    .map(|p| p + i)
                    .ok_or_else(|| QueryError(format!("unterminated date literal in: {input}")))?;
                let raw: String = chars[i + 1..end].iter().collect();
                tokens.push(Token::Date(parse_date(raw.trim()).ok_or_else(|| {
                    QueryError(format!("invalid date literal [{raw}]"))
                })?));
                i = end + 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op("!="));
                i += 2;
            }
            '<' | '>' => {
                if chars.get(i + 1) == Some(&'=') {
                    tokens.push(Token::Op(if c == '<' { "<=" } else { ">=" }));
                    i += 2;
                } else {
                    tokens.push(Token::Op(if c == '<' { "<" } else { ">" }));
                    i += 1;
                }
            }
            '=' => {
                tokens.push(Token::Op("="));
                i += 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let raw: String = chars[start..i].iter().collect();
                let number = raw
                    .parse::<f64>()
                    .map_err(|_| QueryError(format!("invalid number {raw}")))?;
                tokens.push(Token::Number(number));
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.'))
                {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return fail(format!("unexpected character '{other}' in conditions")),
        }
    }
    Ok(tokens)
}

/// Parse an ISO 8601 instant as ConnectWise accepts it inside `[...]`.
pub(crate) fn parse_date(raw: &str) -> Option<DateTime<Utc>> {
    if let Ok(date) = DateTime::parse_from_rfc3339(raw) {
        return Some(date.with_timezone(&Utc));
    }
    chrono::NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S")
        .ok()
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
        .map(|naive| naive.and_utc())
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.peek() == Some(&Token::Open) {
            self.pos += 1;
            let inner = self.or()?;
            if self.next() != Some(Token::Close) {
                return fail("missing ')' in conditions");
            }
            return Ok(inner);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr> {
        let field = match self.next() {
            Some(Token::Ident(name)) => name,
            other => return fail(format!("expected a field name, found {other:?}")),
        };
        let op = match self.next() {
            Some(Token::Op("=")) => Op::Eq,
            Some(Token::Op("!=")) => Op::Ne,
            Some(Token::Op("<")) => Op::Lt,
            Some(Token::Op("<=")) => Op::Le,
            Some(Token::Op(">")) => Op::Gt,
            Some(Token::Op(">=")) => Op::Ge,
            Some(Token::Ident(word)) => match word.to_ascii_lowercase().as_str() {
                "like" => Op::Like,
                "contains" => Op::Contains,
                "in" => Op::In,
                "not" => match self.next() {
                    Some(Token::Ident(w)) if w.eq_ignore_ascii_case("like") => Op::NotLike,
                    Some(Token::Ident(w)) if w.eq_ignore_ascii_case("in") => Op::NotIn,
                    other => {
                        return fail(format!(
                            "expected 'like' or 'in' after 'not', found {other:?}"
                        ));
                    }
                },
                _ => return fail(format!("unknown operator '{word}' after {field}")),
            },
            other => {
                return fail(format!(
                    "expected an operator after {field}, found {other:?}"
                ));
            }
        };
        let value = if matches!(op, Op::In | Op::NotIn) {
            self.list()?
        } else {
            self.literal()?
        };
        Ok(Expr::Compare { field, op, value })
    }

    fn list(&mut self) -> Result<Literal> {
        if self.next() != Some(Token::Open) {
            return fail("expected '(' after 'in'");
        }
        let mut items = vec![self.literal()?];
        loop {
            match self.next() {
                Some(Token::Comma) => items.push(self.literal()?),
                Some(Token::Close) => return Ok(Literal::List(items)),
                other => return fail(format!("expected ',' or ')' in list, found {other:?}")),
            }
        }
    }

    fn literal(&mut self) -> Result<Literal> {
        match self.next() {
            Some(Token::Text(text)) => Ok(Literal::Text(text)),
            Some(Token::Number(n)) => Ok(Literal::Number(n)),
            Some(Token::Date(d)) => Ok(Literal::Date(d)),
            Some(Token::Ident(word)) if word.eq_ignore_ascii_case("true") => {
                Ok(Literal::Bool(true))
            }
            Some(Token::Ident(word)) if word.eq_ignore_ascii_case("false") => {
                Ok(Literal::Bool(false))
            }
            Some(Token::Ident(word)) if word.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            // Unquoted strings are rejected by ConnectWise; say so rather than guess.
            Some(Token::Ident(word)) => fail(format!(
                "string values in conditions must be quoted: {word}"
            )),
            other => fail(format!("expected a value, found {other:?}")),
        }
    }
}

/// Parse a `conditions` expression.
pub(crate) fn parse(input: &str) -> Result<Expr> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return fail("conditions is empty");
    }
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return fail(format!(
            "unexpected {:?} in conditions",
            parser.tokens[parser.pos]
        ));
    }
    Ok(expr)
}

/// Look a slash-separated path up in an entity; `None` when the field does not exist.
/// Top-level names that ConnectWise keeps under `_info` (`lastUpdated`, `dateEntered`, ...)
/// resolve there too, as the real API lets you filter on them directly.
fn lookup<'a>(entity: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = entity;
    let mut segments = path.split(['/', '.']);
    let first = segments.next()?;
    current = match current.get(first) {
        Some(value) => value,
        None => current.get("_info")?.get(first)?,
    };
    for segment in segments {
        current = match current {
            Value::Null => return Some(&Value::Null),
            other => other.get(segment)?,
        };
    }
    Some(current)
}

fn like(pattern: &str, text: &str) -> bool {
    // `%` matches any run, `_` one character; case-insensitive like SQL Server's default.
    let pattern: Vec<char> = pattern.to_lowercase().chars().collect();
    let text: Vec<char> = text.to_lowercase().chars().collect();
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|k| go(&p[1..], &t[k..])),
            Some('_') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    go(&pattern, &text)
}

fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::String(s), Literal::Text(t)) => Some(s.to_lowercase().cmp(&t.to_lowercase())),
        (Value::String(s), Literal::Date(d)) => parse_date(s).map(|v| v.cmp(d)),
        (Value::Number(n), Literal::Number(m)) => n.as_f64()?.partial_cmp(m),
        (Value::Bool(b), Literal::Bool(c)) => Some(b.cmp(c)),
        _ => None,
    }
}

fn matches(value: &Value, op: Op, literal: &Literal) -> bool {
    match op {
        Op::Eq => match literal {
            Literal::Null => value.is_null(),
            _ => compare(value, literal) == Some(Ordering::Equal),
        },
        Op::Ne => match literal {
            Literal::Null => !value.is_null(),
            _ => compare(value, literal) != Some(Ordering::Equal),
        },
        Op::Lt => compare(value, literal) == Some(Ordering::Less),
        Op::Le => matches!(
            compare(value, literal),
            Some(Ordering::Less | Ordering::Equal)
        ),
        Op::Gt => compare(value, literal) == Some(Ordering::Greater),
        Op::Ge => matches!(
            compare(value, literal),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        Op::Like | Op::NotLike => {
            let hit = match (value, literal) {
                (Value::String(s), Literal::Text(p)) => like(p, s),
                _ => false,
            };
            hit == (op == Op::Like)
        }
        Op::Contains => match (value, literal) {
            (Value::String(s), Literal::Text(t)) => s.to_lowercase().contains(&t.to_lowercase()),
            _ => false,
        },
        Op::In | Op::NotIn => {
            let Literal::List(items) = literal else {
                return false;
            };
            let hit = items
                .iter()
                .any(|item| compare(value, item) == Some(Ordering::Equal));
            hit == (op == Op::In)
        }
    }
}

impl Expr {
    /// Whether `entity` satisfies the expression; an unknown field is an error.
    pub(crate) fn eval(&self, entity: &Value) -> Result<bool> {
        Ok(match self {
            Expr::And(a, b) => a.eval(entity)? && b.eval(entity)?,
            Expr::Or(a, b) => a.eval(entity)? || b.eval(entity)?,
            Expr::Not(inner) => !inner.eval(entity)?,
            Expr::Compare { field, op, value } => {
                let found = lookup(entity, field).ok_or_else(|| {
                    QueryError(format!("Cannot find field '{field}' in conditions"))
                })?;
                matches(found, *op, value)
            }
        })
    }

    fn first_field(&self) -> &str {
        match self {
            Expr::And(a, _) | Expr::Or(a, _) => a.first_field(),
            Expr::Not(inner) => inner.first_field(),
            Expr::Compare { field, .. } => field,
        }
    }
}

/// `childConditions`: the whole expression must hold for one item of the child collection
/// named by the fields' first segment (`communicationItems/value=... AND
/// communicationItems/communicationType="Email"` matches one item with both).
pub(crate) fn eval_child(expr: &Expr, entity: &Value) -> Result<bool> {
    let field = expr.first_field();
    let collection = field.split('/').next().unwrap_or(field);
    let Some(items) = entity.get(collection) else {
        return fail(format!(
            "Cannot find child collection '{collection}' in childConditions"
        ));
    };
    let items = items.as_array().cloned().unwrap_or_default();
    for item in items {
        let mut single = Map::new();
        single.insert(collection.to_string(), item);
        if expr.eval(&Value::Object(single))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One `orderBy` key.
#[derive(Debug, Clone)]
pub(crate) struct OrderKey {
    field: String,
    descending: bool,
}

/// Parse `orderBy` (`"lastUpdated asc, id desc"`).
pub(crate) fn parse_order(input: &str) -> Result<Vec<OrderKey>> {
    input
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut words = part.split_whitespace();
            let field = words.next().unwrap_or_default().to_string();
            let descending = match words.next().map(str::to_ascii_lowercase).as_deref() {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(other) => return fail(format!("invalid orderBy direction '{other}'")),
            };
            if words.next().is_some() {
                return fail(format!("invalid orderBy '{part}'"));
            }
            Ok(OrderKey { field, descending })
        })
        .collect()
}

fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::String(x), Value::String(y)) => match (parse_date(x), parse_date(y)) {
            (Some(dx), Some(dy)) => dx.cmp(&dy),
            _ => x.to_lowercase().cmp(&y.to_lowercase()),
        },
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

/// Sort entities by the keys, then by id so every order is total (paging stays stable).
pub(crate) fn sort(entities: &mut [Value], keys: &[OrderKey]) -> Result<()> {
    if let Some(first) = entities.first() {
        for key in keys {
            if lookup(first, &key.field).is_none() {
                return fail(format!("Cannot find field '{}' in orderBy", key.field));
            }
        }
    }
    entities.sort_by(|a, b| {
        for key in keys {
            let x = lookup(a, &key.field).unwrap_or(&Value::Null);
            let y = lookup(b, &key.field).unwrap_or(&Value::Null);
            let ordering = order_values(x, y);
            let ordering = if key.descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        order_values(
            a.get("id").unwrap_or(&Value::Null),
            b.get("id").unwrap_or(&Value::Null),
        )
    });
    Ok(())
}

/// Keep only the listed fields (`id,summary,status/name`), nested ones as nested objects.
pub(crate) fn project(entity: &Value, fields: &str) -> Value {
    let mut out = Map::new();
    for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        let segments: Vec<&str> = field.split('/').collect();
        if let Some(value) = lookup(entity, field) {
            insert_path(&mut out, &segments, value.clone());
        }
    }
    Value::Object(out)
}

fn insert_path(out: &mut Map<String, Value>, segments: &[&str], value: Value) {
    match segments {
        [] => {}
        [last] => {
            out.insert((*last).to_string(), value);
        }
        [first, rest @ ..] => {
            let child = out
                .entry((*first).to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(map) = child {
                insert_path(map, rest, value);
            }
        }
    }
}

/// Drop null members recursively: ConnectWise leaves empty fields out of its responses.
pub(crate) fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn eval(conditions: &str, entity: &Value) -> bool {
        parse(conditions).unwrap().eval(entity).unwrap()
    }

    #[test]
    fn conditions_cover_the_operators_the_connector_uses() {
        let ticket = json!({
            "id": 7, "summary": "Password reset", "closedFlag": false,
            "board": {"id": 1, "name": "Help Desk"}, "status": {"name": "New"},
            "parentTicketId": null,
            "_info": {"lastUpdated": "2025-03-01T14:02:11Z"}
        });
        assert!(eval(
            r#"board/name="Help Desk" and closedFlag=false"#,
            &ticket
        ));
        assert!(eval(r#"board/name in ("Projects","Help Desk")"#, &ticket));
        assert!(!eval(r#"board/name not in ("Help Desk")"#, &ticket));
        assert!(eval("lastUpdated>[2025-01-01T00:00:00Z]", &ticket));
        assert!(!eval("lastUpdated<[2025-01-01T00:00:00Z]", &ticket));
        assert!(eval(r#"summary like "pass%""#, &ticket));
        assert!(eval(r#"summary contains "reset""#, &ticket));
        assert!(eval(r#"(id=8 or id=7) AND status/name!="Closed""#, &ticket));
        assert!(eval("parentTicketId=null", &ticket));
        assert!(parse("board/name=Help").is_err());
        assert!(parse("nosuch=1").unwrap().eval(&ticket).is_err());
    }

    #[test]
    fn child_conditions_hold_for_one_item() {
        let contact = json!({"communicationItems": [
            {"value": "jane@acme.com", "communicationType": "Phone"},
            {"value": "jane@other.com", "communicationType": "Email"}
        ]});
        let both = parse(r#"communicationItems/value="jane@acme.com" AND communicationItems/communicationType="Email""#).unwrap();
        assert!(!eval_child(&both, &contact).unwrap());
        let one = parse(r#"communicationItems/value="JANE@other.com""#).unwrap();
        assert!(eval_child(&one, &contact).unwrap());
    }

    #[test]
    fn projection_and_order() {
        let mut rows = vec![
            json!({"id": 2, "a": {"b": "x"}}),
            json!({"id": 1, "a": {"b": "y"}}),
        ];
        sort(&mut rows, &parse_order("a/b desc").unwrap()).unwrap();
        assert_eq!(rows[0]["id"], 1);
        assert_eq!(
            project(&rows[0], "id,a/b"),
            json!({"id": 1, "a": {"b": "y"}})
        );
    }
}
