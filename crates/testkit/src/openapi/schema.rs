//! Converting OpenAPI 3.0 / Swagger 2.0 schema objects into JSON Schema draft 4, which is the
//! dialect both are based on.
//!
//! The quirks handled: `nullable` (and Swagger's `x-nullable`) become `anyOf` with `null`;
//! `x-` extension keys and OpenAPI-only annotations are dropped; `readOnly` properties are not
//! required in requests and `writeOnly` ones not in responses; `oneOf` with a `discriminator`
//! becomes `anyOf` (subtypes that allow extra properties overlap, and the discriminator is what
//! really picks one); Swagger's `type: file` is dropped; `$ref`s into `components/schemas` are
//! rewritten to `#/definitions/...` of the document the validator compiles, and `$ref`s with
//! sibling keywords are wrapped in `allOf` because draft 4 ignores siblings of `$ref`.

use serde_json::{Map, Value, json};

/// Which side of an exchange a schema describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Direction {
    /// A request body: `readOnly` properties are not required.
    Request,
    /// A response body: `writeOnly` properties are not required.
    Response,
}

/// Where a `$ref` to a named schema points in the spec document.
const COMPONENT_PREFIXES: [&str; 2] = ["#/components/schemas/", "#/definitions/"];

/// Characters escaped in a rewritten `$ref` fragment: everything but RFC 3986 `pchar`s and `/`.
const FRAGMENT_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/')
    .remove(b'@')
    .remove(b':')
    .remove(b'$')
    .remove(b'!')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b';')
    .remove(b'=');

/// Maximum depth of inlined non-schema `$ref`s, so a cyclic document cannot loop forever.
const MAX_INLINE_DEPTH: usize = 32;

/// OpenAPI keywords that carry no validation meaning in draft 4.
const ANNOTATIONS: [&str; 9] = [
    "discriminator",
    "example",
    "examples",
    "xml",
    "externalDocs",
    "deprecated",
    "readOnly",
    "writeOnly",
    "description",
];

pub(crate) struct Converter<'a> {
    pub(crate) document: &'a Value,
    pub(crate) direction: Direction,
    /// Lowercase property names (for vendors whose API ignores property-name case).
    pub(crate) fold_case: bool,
}

impl Converter<'_> {
    /// A draft-4 document that validates against `schema`, carrying every named schema of the
    /// spec under `definitions` so references resolve inside it.
    pub(crate) fn root(&self, schema: &Value, definitions: &Value) -> Value {
        let mut root = match self.convert(schema, 0) {
            Value::Object(map) => map,
            other => {
                // A boolean schema: wrap so `definitions` has a place to live.
                let mut map = Map::new();
                map.insert("allOf".into(), Value::Array(vec![other]));
                map
            }
        };
        root.insert(
            "$schema".into(),
            Value::String("http://json-schema.org/draft-04/schema#".into()),
        );
        root.insert("definitions".into(), definitions.clone());
        Value::Object(root)
    }

    /// Every named schema of the document, converted.
    pub(crate) fn definitions(&self) -> Value {
        let named = self
            .document
            .pointer("/components/schemas")
            .or_else(|| self.document.get("definitions"))
            .and_then(Value::as_object);
        let converted = named
            .into_iter()
            .flatten()
            .map(|(name, schema)| (name.clone(), self.convert(schema, 0)))
            .collect();
        Value::Object(converted)
    }

    fn convert(&self, schema: &Value, depth: usize) -> Value {
        let Value::Object(object) = schema else {
            return schema.clone();
        };
        let mut out = Map::new();
        let mut nullable = false;
        let mut reference = None;
        let has_discriminator = object.contains_key("discriminator");
        for (key, value) in object {
            match key.as_str() {
                "$ref" => reference = Some(self.reference(value, depth)),
                "nullable" | "x-nullable" => nullable = value.as_bool() == Some(true),
                k if k.starts_with("x-") || ANNOTATIONS.contains(&k) => {}
                "properties" | "patternProperties" | "definitions" => {
                    let map = value
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(name, s)| {
                            let name = if key == "properties" {
                                self.property_name(name)
                            } else {
                                name.clone()
                            };
                            (name, self.convert(s, depth))
                        })
                        .collect();
                    out.insert(key.clone(), Value::Object(map));
                }
                "items" | "additionalProperties" | "additionalItems" | "not" => {
                    let converted = match value {
                        Value::Array(list) => {
                            Value::Array(list.iter().map(|s| self.convert(s, depth)).collect())
                        }
                        other => self.convert(other, depth),
                    };
                    out.insert(key.clone(), converted);
                }
                "allOf" | "anyOf" | "oneOf" => {
                    let list = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|s| {
                            if key != "allOf" && is_null_marker(s) {
                                json!({"type": "null"})
                            } else {
                                self.convert(s, depth)
                            }
                        })
                        .collect();
                    let key = if key == "oneOf" && has_discriminator {
                        "anyOf".to_string()
                    } else {
                        key.clone()
                    };
                    out.insert(key, Value::Array(list));
                }
                "required" => {
                    let required = self.required(object, value);
                    if !required.is_empty() {
                        out.insert(key.clone(), Value::Array(required));
                    }
                }
                "type" if value == "file" => {}
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        let mut converted = match reference {
            Some(reference) if out.is_empty() => reference,
            Some(reference) => {
                // Draft 4 ignores the siblings of `$ref`; keep them by moving the ref into allOf.
                let mut all_of = vec![reference];
                if let Some(Value::Array(existing)) = out.remove("allOf") {
                    all_of.extend(existing);
                }
                out.insert("allOf".into(), Value::Array(all_of));
                Value::Object(out)
            }
            None => Value::Object(out),
        };
        if nullable {
            converted = json!({"anyOf": [{"type": "null"}, converted]});
        }
        converted
    }

    /// The `required` list, minus the properties that the other side of the exchange owns.
    fn required(&self, object: &Map<String, Value>, required: &Value) -> Vec<Value> {
        let skipped_flag = match self.direction {
            Direction::Request => "readOnly",
            Direction::Response => "writeOnly",
        };
        let properties = object.get("properties");
        required
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter(|name| {
                properties
                    .and_then(|p| p.get(*name))
                    .and_then(|p| p.get(skipped_flag))
                    .and_then(Value::as_bool)
                    != Some(true)
            })
            .map(|name| Value::String(self.property_name(name)))
            .collect()
    }

    fn property_name(&self, name: &str) -> String {
        if self.fold_case {
            name.to_lowercase()
        } else {
            name.to_string()
        }
    }

    /// A `$ref` to a named schema becomes a local `#/definitions/...` reference; any other
    /// local reference is inlined; remote references are kept (and fail to compile, which is
    /// reported as a spec problem).
    fn reference(&self, value: &Value, depth: usize) -> Value {
        let Some(target) = value.as_str() else {
            return json!({});
        };
        if let Some(name) = COMPONENT_PREFIXES
            .iter()
            .find_map(|p| target.strip_prefix(p))
        {
            // Names like `Expression[Func[Contact,Int64]]` must be escaped to be a URI fragment.
            let escaped = percent_encoding::utf8_percent_encode(name, FRAGMENT_ESCAPES);
            return json!({"$ref": format!("#/definitions/{escaped}")});
        }
        match target.strip_prefix('#') {
            Some(pointer) if depth < MAX_INLINE_DEPTH => match self.document.pointer(pointer) {
                Some(resolved) => self.convert(resolved, depth + 1),
                None => json!({"$ref": target}),
            },
            _ => json!({"$ref": target}),
        }
    }
}

/// Microsoft's generator writes "this reference, or null" as
/// `anyOf: [{$ref}, {type: object, nullable: true}]`; the second branch only says "null".
/// Taken literally it would admit any object and hide every error in the referenced schema.
fn is_null_marker(schema: &Value) -> bool {
    let Some(object) = schema.as_object() else {
        return false;
    };
    object.get("nullable").and_then(Value::as_bool) == Some(true)
        && object
            .keys()
            .all(|k| matches!(k.as_str(), "nullable" | "type" | "description" | "title"))
}

/// Lowercase every object key of a JSON value (the body side of `fold_case`).
pub(crate) fn fold_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.to_lowercase(), fold_keys(v)))
                .collect(),
        ),
        Value::Array(list) => Value::Array(list.iter().map(fold_keys).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converter(document: &Value, direction: Direction) -> Converter<'_> {
        Converter {
            document,
            direction,
            fold_case: false,
        }
    }

    #[test]
    fn nullable_refs_and_extensions() {
        let doc = json!({"components": {"schemas": {"a": {"type": "string"}}}});
        let c = converter(&doc, Direction::Request);
        let schema = json!({
            "$ref": "#/components/schemas/a",
            "nullable": true,
            "x-ms-navigation": true,
            "maxLength": 3
        });
        assert_eq!(
            c.convert(&schema, 0),
            json!({"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/definitions/a"}], "maxLength": 3}]})
        );
    }

    #[test]
    fn graph_nullable_object_branch_means_null() {
        let doc = json!({});
        let c = converter(&doc, Direction::Request);
        let schema = json!({"anyOf": [
            {"$ref": "#/components/schemas/microsoft.graph.passwordProfile"},
            {"type": "object", "nullable": true}
        ]});
        assert_eq!(
            c.convert(&schema, 0),
            json!({"anyOf": [{"$ref": "#/definitions/microsoft.graph.passwordProfile"}, {"type": "null"}]})
        );
        let odd = json!({"$ref": "#/definitions/Expression[Func[Contact,Int64]]"});
        assert_eq!(
            c.convert(&odd, 0),
            json!({"$ref": "#/definitions/Expression%5BFunc%5BContact%2CInt64%5D%5D"})
        );
    }

    #[test]
    fn read_only_is_not_required_in_requests() {
        let doc = json!({});
        let schema = json!({
            "type": "object",
            "required": ["id", "name", "password"],
            "properties": {
                "id": {"type": "integer", "readOnly": true},
                "name": {"type": "string"},
                "password": {"type": "string", "writeOnly": true}
            }
        });
        let request = converter(&doc, Direction::Request).convert(&schema, 0);
        assert_eq!(request["required"], json!(["name", "password"]));
        let response = converter(&doc, Direction::Response).convert(&schema, 0);
        assert_eq!(response["required"], json!(["id", "name"]));
    }

    #[test]
    fn discriminated_one_of_becomes_any_of_and_parameters_inline() {
        let doc = json!({"components": {"parameters": {"p": {"type": "integer"}}}});
        let c = converter(&doc, Direction::Response);
        let schema = json!({
            "oneOf": [{"$ref": "#/components/schemas/x"}],
            "discriminator": {"propertyName": "kind"},
            "properties": {"n": {"$ref": "#/components/parameters/p"}}
        });
        let out = c.convert(&schema, 0);
        assert!(out.get("oneOf").is_none());
        assert_eq!(out["anyOf"], json!([{"$ref": "#/definitions/x"}]));
        assert_eq!(out["properties"]["n"], json!({"type": "integer"}));
    }

    #[test]
    fn folding_lowercases_names_and_keys() {
        let doc = json!({});
        let c = Converter {
            document: &doc,
            direction: Direction::Request,
            fold_case: true,
        };
        let out = c.convert(
            &json!({"required": ["TicketID"], "properties": {"TicketID": {"type": "integer"}}}),
            0,
        );
        assert_eq!(out["required"], json!(["ticketid"]));
        assert!(out["properties"].get("ticketid").is_some());
        assert_eq!(
            fold_keys(&json!({"TicketID": 1, "Items": [{"A": 2}]})),
            json!({"ticketid": 1, "items": [{"a": 2}]})
        );
    }
}
