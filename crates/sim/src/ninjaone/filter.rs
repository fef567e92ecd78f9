//! NinjaOne's device filter (`df`), the subset its client code documents: clauses joined by
//! `AND`, each `org`, `loc`, `id`, `class` or `status` compared with `=` / `eq`, `!=` / `neq`,
//! `in (a,b)` or `notin (a,b)`, or the bare words `online` and `offline`
//! (`org = 1`, `status eq APPROVED`, `class in (WINDOWS_WORKSTATION,MAC)`,
//! `class eq WINDOWS_WORKSTATION AND online`). Anything else is refused, never guessed at.

use super::model::SimDevice;

/// What a clause compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Org,
    Loc,
    Id,
    Class,
    Status,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Clause {
    /// The field's value is (`true`) or is not (`false`) one of the values.
    Compare(Field, bool, Vec<String>),
    Online(bool),
}

/// A parsed device filter; the empty filter matches every device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DeviceFilter {
    clauses: Vec<Clause>,
}

impl DeviceFilter {
    /// Parse `text`; the error says which clause is not understood.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::default());
        }
        let clauses = split_and(text)
            .into_iter()
            .map(clause)
            .collect::<Result<_, _>>()?;
        Ok(Self { clauses })
    }

    /// Whether `device` passes every clause.
    pub(crate) fn matches(&self, device: &SimDevice) -> bool {
        self.clauses.iter().all(|c| match c {
            Clause::Online(online) => device.online == *online,
            Clause::Compare(field, wanted, values) => {
                let actual = match field {
                    Field::Org => device.organization_id.to_string(),
                    Field::Loc => device.location_id.to_string(),
                    Field::Id => device.id.to_string(),
                    Field::Class => device.node_class.clone(),
                    Field::Status => device.approval_status.clone(),
                };
                values.iter().any(|v| v.eq_ignore_ascii_case(&actual)) == *wanted
            }
        })
    }
}

/// The clauses between ` AND `s (any case).
fn split_and(text: &str) -> Vec<&str> {
    let lower = text.to_ascii_lowercase();
    let mut parts = Vec::new();
    let mut start = 0;
    while let Some(at) = lower[start..].find(" and ") {
        parts.push(text[start..start + at].trim());
        start += at + " and ".len();
    }
    parts.push(text[start..].trim());
    parts
}

fn clause(text: &str) -> Result<Clause, String> {
    match text.to_ascii_lowercase().as_str() {
        "online" => return Ok(Clause::Online(true)),
        "offline" => return Ok(Clause::Online(false)),
        _ => {}
    }
    let bad = || format!("cannot read the device filter clause `{text}`");
    // `org=1` is `org = 1`: give the operators room before splitting on spaces.
    let spaced = text.replace("!=", " neq ").replace('=', " eq ");
    let mut words = spaced.split_whitespace();
    let field = match words.next().map(str::to_ascii_lowercase).as_deref() {
        Some("org") => Field::Org,
        Some("loc") => Field::Loc,
        Some("id") => Field::Id,
        Some("class") => Field::Class,
        Some("status") => Field::Status,
        _ => return Err(bad()),
    };
    let operator = words.next().map(str::to_ascii_lowercase).ok_or_else(bad)?;
    let rest: String = words.collect::<Vec<_>>().join("");
    let (wanted, list) = match operator.as_str() {
        "eq" => (true, false),
        "neq" => (false, false),
        "in" => (true, true),
        "notin" => (false, true),
        _ => return Err(bad()),
    };
    let values: Vec<String> = if list {
        rest.strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(bad)?
            .split(',')
            .map(str::to_string)
            .collect()
    } else {
        vec![rest]
    };
    if values.iter().any(String::is_empty) {
        return Err(bad());
    }
    let numeric = matches!(field, Field::Org | Field::Loc | Field::Id);
    if numeric && values.iter().any(|v| v.parse::<i64>().is_err()) {
        return Err(bad());
    }
    Ok(Clause::Compare(field, wanted, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(id: i64, org: i64, class: &str, online: bool) -> SimDevice {
        SimDevice {
            id,
            organization_id: org,
            location_id: org,
            node_class: class.into(),
            online,
            ..SimDevice::default()
        }
    }

    #[test]
    fn reads_the_documented_forms() {
        let laptop = device(7, 2, "WINDOWS_WORKSTATION", true);
        let mac = device(8, 3, "MAC", false);
        let cases = [
            ("org = 2", true, false),
            ("org=2", true, false),
            ("org eq 3", false, true),
            ("org != 2", false, true),
            ("org in (2, 3)", true, true),
            ("org notin (2)", false, true),
            ("status eq APPROVED", true, true),
            ("class in (WINDOWS_WORKSTATION,MAC)", true, true),
            ("class eq WINDOWS_WORKSTATION AND online", true, false),
            ("class eq mac and offline", false, true),
            ("id = 8", false, true),
            ("", true, true),
        ];
        for (text, first, second) in cases {
            let filter = DeviceFilter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            let mut laptop = laptop.clone();
            let mut mac = mac.clone();
            laptop.approval_status = "APPROVED".into();
            mac.approval_status = "APPROVED".into();
            assert_eq!(filter.matches(&laptop), first, "{text}");
            assert_eq!(filter.matches(&mac), second, "{text}");
        }
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        for text in [
            "organization = 1",
            "org ~ 1",
            "org = x",
            "org in 1,2",
            "org =",
            "online or offline",
        ] {
            let err = DeviceFilter::parse(text).expect_err(text);
            assert!(err.contains("device filter"), "{err}");
        }
    }
}
