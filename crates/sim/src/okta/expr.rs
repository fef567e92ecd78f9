//! Okta's filter / search expression language (`profile.email eq "a@b.com" and status eq
//! "ACTIVE"`), parsed once and evaluated against the JSON a resource renders to.
//!
//! Grammar (operators and `and` / `or` case-insensitive, property names case-sensitive):
//! `expr := term ("or" term)*`, `term := factor ("and" factor)*`,
//! `factor := "(" expr ")" | path "pr" | path op value`, `op := eq | sw | co | gt | ge | lt | le`.

use serde_json::Value;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Sw,
    Co,
    Gt,
    Ge,
    Lt,
    Le,
    Pr,
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp { path: String, op: Op, value: String },
}

impl Expr {
    /// Every (path, op) used, for checking what a `filter` allows.
    pub(crate) fn comparisons(&self) -> Vec<(&str, Op)> {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => {
                let mut all = a.comparisons();
                all.extend(b.comparisons());
                all
            }
            Expr::Cmp { path, op, .. } => vec![(path.as_str(), *op)],
        }
    }

    /// Whether `resource` matches. `case_sensitive` is false for `search`, true for `filter`.
    pub(crate) fn matches(&self, resource: &Value, case_sensitive: bool) -> bool {
        match self {
            Expr::And(a, b) => {
                a.matches(resource, case_sensitive) && b.matches(resource, case_sensitive)
            }
            Expr::Or(a, b) => {
                a.matches(resource, case_sensitive) || b.matches(resource, case_sensitive)
            }
            Expr::Cmp { path, op, value } => {
                let found = lookup(resource, path);
                let candidates: Vec<&Value> = match found {
                    Some(Value::Array(items)) => items.iter().collect(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => vec![other],
                };
                if *op == Op::Pr {
                    return !candidates.is_empty();
                }
                candidates
                    .into_iter()
                    .any(|candidate| compare(candidate, *op, value, case_sensitive))
            }
        }
    }
}

/// Resolve a dotted property path (`profile.login`, `type.id`) in a rendered resource.
pub(crate) fn lookup<'a>(resource: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(resource, |node, segment| node.get(segment))
}

fn compare(candidate: &Value, op: Op, wanted: &str, case_sensitive: bool) -> bool {
    let text = match candidate {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => return false,
    };
    let (text, wanted) = if case_sensitive {
        (text, wanted.to_string())
    } else {
        (text.to_lowercase(), wanted.to_lowercase())
    };
    match op {
        Op::Eq => text == wanted,
        Op::Sw => text.starts_with(&wanted),
        Op::Co => text.contains(&wanted),
        Op::Gt => text > wanted,
        Op::Ge => text >= wanted,
        Op::Lt => text < wanted,
        Op::Le => text <= wanted,
        Op::Pr => true,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Open,
    Close,
}

fn tokenize(input: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                tokens.push(Token::Open);
            }
            ')' => {
                chars.next();
                tokens.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => match chars.next() {
                            Some(escaped) => text.push(escaped),
                            None => return Err("dangling escape in a quoted value".into()),
                        },
                        '"' => {
                            closed = true;
                            break;
                        }
                        other => text.push(other),
                    }
                }
                if !closed {
                    return Err("unterminated quoted value".into());
                }
                tokens.push(Token::Quoted(text));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                tokens.push(Token::Word(word));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_keyword(&self, keyword: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(w)) if w.eq_ignore_ascii_case(keyword))
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expr(&mut self) -> Result<Expr, String> {
        let mut left = self.term()?;
        while self.peek_keyword("or") {
            self.pos += 1;
            let right = self.term()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, String> {
        let mut left = self.factor()?;
        while self.peek_keyword("and") {
            self.pos += 1;
            let right = self.factor()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.expr()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing closing parenthesis".into()),
                }
            }
            Some(Token::Word(path)) => {
                let op = match self.next() {
                    Some(Token::Word(op)) => parse_op(&op)?,
                    _ => return Err(format!("expected an operator after `{path}`")),
                };
                if op == Op::Pr {
                    return Ok(Expr::Cmp {
                        path,
                        op,
                        value: String::new(),
                    });
                }
                let value = match self.next() {
                    Some(Token::Quoted(v)) => v,
                    // Unquoted literals: booleans and numbers.
                    Some(Token::Word(v))
                        if v == "true" || v == "false" || v.parse::<f64>().is_ok() =>
                    {
                        v
                    }
                    _ => return Err(format!("expected a quoted value after `{path}`")),
                };
                Ok(Expr::Cmp { path, op, value })
            }
            _ => Err("expected a property name or `(`".into()),
        }
    }
}

fn parse_op(op: &str) -> Result<Op, String> {
    Ok(match op.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "sw" => Op::Sw,
        "co" => Op::Co,
        "gt" => Op::Gt,
        "ge" => Op::Ge,
        "lt" => Op::Lt,
        "le" => Op::Le,
        "pr" => Op::Pr,
        other => return Err(format!("unsupported operator `{other}`")),
    })
}

/// Parse an expression; the error names what is wrong.
pub(crate) fn parse(input: &str) -> Result<Expr, String> {
    let tokens = tokenize(input)?;
    if tokens.is_empty() {
        return Err("empty expression".into());
    }
    let mut parser = Parser { tokens, pos: 0 };
    let expr = parser.expr()?;
    if parser.pos < parser.tokens.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_and_evaluates_nested_expressions() {
        let user = json!({"status": "ACTIVE", "profile": {"email": "Ann@Globex.example", "department": "Sales"}});
        let expr = parse(
            r#"profile.department eq "sales" and (status eq "STAGED" or profile.email sw "ann")"#,
        )
        .expect("parses");
        assert!(expr.matches(&user, false));
        assert!(!expr.matches(&user, true));
        assert!(parse(r#"status eq"#).is_err());
        assert!(parse(r#"status ne "ACTIVE""#).is_err());
        assert!(parse(r#"(status eq "ACTIVE""#).is_err());
        assert!(
            parse(r#"profile.email pr"#)
                .expect("parses")
                .matches(&user, true)
        );
    }
}
