//! Path templates (`/users/{user-id}/assignLicense`) and matching observed paths against them.

use std::borrow::Cow;

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// Must equal the observed segment.
    Literal(String),
    /// A `{parameter}`, possibly with literal text around it (`{id}.json`).
    Param {
        name: String,
        prefix: String,
        suffix: String,
    },
}

/// A parsed path template from a spec's `paths`.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    /// The template as written in the spec, the key into `paths`.
    pub(crate) raw: String,
    segments: Vec<Segment>,
}

impl Template {
    pub(crate) fn parse(raw: &str) -> Self {
        let segments = split(raw)
            .map(|s| match (s.find('{'), s.rfind('}')) {
                (Some(open), Some(close)) if open < close => Segment::Param {
                    name: s[open + 1..close].to_string(),
                    prefix: s[..open].to_string(),
                    suffix: s[close + 1..].to_string(),
                },
                _ => Segment::Literal(s.to_string()),
            })
            .collect();
        Self {
            raw: raw.to_string(),
            segments,
        }
    }

    /// Whether `path` (relative to the API base) fits this template. On a match, returns a
    /// rank: one flag per segment, `true` where a literal matched, so that comparing ranks
    /// makes literal segments beat templated ones position by position.
    fn rank(&self, path: &str, fold_case: bool) -> Option<Vec<bool>> {
        let observed: Vec<Cow<'_, str>> = split(path).map(decode).collect();
        if observed.len() != self.segments.len() {
            return None;
        }
        let mut rank = Vec::with_capacity(observed.len());
        for (segment, seen) in self.segments.iter().zip(&observed) {
            match segment {
                Segment::Literal(lit) => {
                    let same = if fold_case {
                        lit.eq_ignore_ascii_case(seen)
                    } else {
                        lit == seen
                    };
                    if !same {
                        return None;
                    }
                    rank.push(true);
                }
                Segment::Param { prefix, suffix, .. } => {
                    let fits = seen.len() > prefix.len() + suffix.len()
                        && seen.starts_with(prefix.as_str())
                        && seen.ends_with(suffix.as_str());
                    if !fits {
                        return None;
                    }
                    rank.push(false);
                }
            }
        }
        Some(rank)
    }
}

impl Template {
    /// The decoded values of the template's parameters in `path` (which must match), by name.
    pub(crate) fn captures(&self, path: &str) -> Vec<(String, String)> {
        self.segments
            .iter()
            .zip(split(path).map(decode))
            .filter_map(|(segment, seen)| match segment {
                Segment::Param {
                    name,
                    prefix,
                    suffix,
                } => {
                    let value = &seen[prefix.len()..seen.len() - suffix.len()];
                    Some((name.clone(), value.to_string()))
                }
                Segment::Literal(_) => None,
            })
            .collect()
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn decode(segment: &str) -> Cow<'_, str> {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy()
}

/// Normalise a base path: leading slash, no trailing slash, empty for the root.
pub(crate) fn normalise_base(base: &str) -> String {
    let trimmed = base.trim_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    }
}

/// Strip `prefix` from `path` when it is a whole-segment prefix.
fn strip<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// Find the template that best matches `path`, trying each candidate base prefix (longest
/// first). Returns the template's index and the path relative to the base that matched.
pub(crate) fn find<'p>(
    templates: &[Template],
    bases: &[String],
    path: &'p str,
    fold_case: bool,
) -> Option<(usize, &'p str)> {
    let mut bases: Vec<&String> = bases.iter().collect();
    bases.sort_by_key(|b| std::cmp::Reverse(b.len()));
    bases.dedup();
    for base in bases {
        let Some(relative) = strip(path, base) else {
            continue;
        };
        let best = templates
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.rank(relative, fold_case).map(|r| (r, i)))
            .max_by(|(a, _), (b, _)| a.cmp(b));
        if let Some((_, index)) = best {
            return Some((index, relative));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates(raw: &[&str]) -> Vec<Template> {
        raw.iter().map(|r| Template::parse(r)).collect()
    }

    fn find_index(t: &[Template], bases: &[String], path: &str, fold: bool) -> Option<usize> {
        find(t, bases, path, fold).map(|(index, _)| index)
    }

    #[test]
    fn literal_segments_beat_templated_ones() {
        let t = templates(&["/companies/{id}", "/companies/jump", "/users/{id}"]);
        let bases = vec![String::new()];
        assert_eq!(find_index(&t, &bases, "/companies/jump", false), Some(1));
        assert_eq!(find_index(&t, &bases, "/companies/42", false), Some(0));
        assert_eq!(find_index(&t, &bases, "/users", false), None);
    }

    #[test]
    fn base_prefixes_are_stripped_on_segment_boundaries() {
        let t = templates(&["/users/{user-id}", "/groups/{group-id}/members/$ref"]);
        let bases = vec![String::new(), "/v1.0".to_string()];
        assert_eq!(
            find(&t, &bases, "/v1.0/users/jane%40acme.example", false),
            Some((0, "/users/jane%40acme.example"))
        );
        assert_eq!(
            find_index(&t, &bases, "/v1.0/groups/g1/members/%24ref", false),
            Some(1)
        );
        assert_eq!(find_index(&t, &bases, "/v1.01/users/x", false), None);
    }

    #[test]
    fn params_with_literal_text_and_folded_case() {
        let t = templates(&["/files/{name}.json", "/V1.0/Tickets/{id}"]);
        let bases = vec![String::new()];
        assert_eq!(find_index(&t, &bases, "/files/a.json", false), Some(0));
        assert_eq!(find_index(&t, &bases, "/files/.json", false), None);
        assert_eq!(find_index(&t, &bases, "/v1.0/tickets/7", false), None);
        assert_eq!(find_index(&t, &bases, "/v1.0/tickets/7", true), Some(1));
    }

    #[test]
    fn captures_decode_parameter_values() {
        let t = Template::parse("/groups/{group-id}/members/{id}.json");
        assert_eq!(
            t.captures("/groups/g%201/members/42.json"),
            vec![
                ("group-id".to_string(), "g 1".to_string()),
                ("id".to_string(), "42".to_string())
            ]
        );
        let bases = vec![String::new(), "/v1.0".to_string()];
        assert_eq!(
            find(&[t], &bases, "/v1.0/groups/g/members/1.json", false),
            Some((0, "/groups/g/members/1.json"))
        );
    }

    #[test]
    fn base_normalisation() {
        assert_eq!(normalise_base("/v1.0/"), "/v1.0");
        assert_eq!(normalise_base("/"), "");
        assert_eq!(normalise_base("apis/3.0"), "/apis/3.0");
    }
}
