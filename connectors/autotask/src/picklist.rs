//! Picklists read from `entityInformation/fields` at run time.
//!
//! Status, priority, queue, source, ticket type, note publish and note type are integers
//! specific to each Autotask database; labels are what people and policies speak. Nothing here
//! hard-codes a value.

use std::collections::HashMap;

use stackhand_core::{Error, NoteVisibility, Result};

use crate::client::AutotaskClient;
use crate::models::PicklistValue;

/// The publish label that customers (and every Autotask user) can see.
pub(crate) const PUBLISH_CUSTOMER: &str = "All Autotask Users";
/// Publish labels for internal-only notes, in order of preference.
const PUBLISH_INTERNAL: &[&str] = &["Internal Only", "Internal Project Team"];

/// One picklist.
#[derive(Debug, Clone, Default)]
pub(crate) struct Picklist {
    field: String,
    values: Vec<PicklistValue>,
}

impl Picklist {
    fn parse_value(v: &PicklistValue) -> Option<i64> {
        v.value.trim().parse().ok()
    }

    /// The active value with this label (case-insensitive).
    pub(crate) fn value(&self, label: &str) -> Option<i64> {
        self.values
            .iter()
            .filter(|v| v.is_active && v.label.trim().eq_ignore_ascii_case(label.trim()))
            .find_map(Self::parse_value)
    }

    /// The label of a value (inactive values too: old tickets carry them).
    pub(crate) fn label(&self, value: i64) -> Option<&str> {
        self.values
            .iter()
            .find(|v| Self::parse_value(v) == Some(value))
            .map(|v| v.label.as_str())
    }

    /// The default value, else the first active non-system one.
    pub(crate) fn default_value(&self) -> Option<i64> {
        let active = || self.values.iter().filter(|v| v.is_active);
        active()
            .find(|v| v.is_default_value)
            .or_else(|| active().find(|v| !v.is_system))
            .and_then(Self::parse_value)
    }

    /// The value of `label`, or an error listing the labels there are.
    pub(crate) fn require(&self, label: &str) -> Result<i64> {
        self.value(label).ok_or_else(|| {
            let labels: Vec<&str> = self
                .values
                .iter()
                .filter(|v| v.is_active)
                .map(|v| v.label.as_str())
                .collect();
            Error::invalid(format!(
                "autotask: {label:?} is not an active value of the {} picklist (it has: {})",
                self.field,
                labels.join(", ")
            ))
        })
    }
}

/// The picklists of the Tickets and TicketNotes entities.
#[derive(Debug, Clone, Default)]
pub(crate) struct Picklists {
    tickets: HashMap<String, Picklist>,
    notes: HashMap<String, Picklist>,
}

impl Picklists {
    /// Read both entities' field information.
    pub(crate) async fn load(client: &AutotaskClient) -> Result<Self> {
        let collect = |fields: Vec<crate::models::FieldInformation>| {
            fields
                .into_iter()
                .filter(|f| f.is_pick_list)
                .map(|f| {
                    let picklist = Picklist {
                        field: f.name.clone(),
                        values: f.picklist_values.unwrap_or_default(),
                    };
                    (f.name.to_ascii_lowercase(), picklist)
                })
                .collect::<HashMap<_, _>>()
        };
        Ok(Self {
            tickets: collect(client.fields("Tickets").await?),
            notes: collect(client.fields("TicketNotes").await?),
        })
    }

    fn find<'a>(
        map: &'a HashMap<String, Picklist>,
        entity: &str,
        field: &str,
    ) -> Result<&'a Picklist> {
        map.get(&field.to_ascii_lowercase()).ok_or_else(|| {
            Error::permanent(format!(
                "autotask: the {entity} entity reports no {field} picklist"
            ))
        })
    }

    /// A Tickets picklist (`status`, `queueID`, `priority`, `source`, `ticketType`).
    pub(crate) fn ticket(&self, field: &str) -> Result<&Picklist> {
        Self::find(&self.tickets, "Tickets", field)
    }

    /// A TicketNotes picklist (`publish`, `noteType`).
    pub(crate) fn note(&self, field: &str) -> Result<&Picklist> {
        Self::find(&self.notes, "TicketNotes", field)
    }

    /// A Tickets label, or `None` for an unset or unknown value.
    pub(crate) fn ticket_label(&self, field: &str, value: Option<i64>) -> Option<String> {
        let value = value?;
        self.tickets
            .get(&field.to_ascii_lowercase())?
            .label(value)
            .map(str::to_string)
    }

    /// The `publish` value for a visibility.
    pub(crate) fn publish(&self, visibility: NoteVisibility) -> Result<i64> {
        let publish = self.note("publish")?;
        match visibility {
            NoteVisibility::Customer => publish.require(PUBLISH_CUSTOMER),
            NoteVisibility::Internal => PUBLISH_INTERNAL
                .iter()
                .find_map(|label| publish.value(label))
                .or_else(|| {
                    // Renamed internal values: internal, and not shared with co-managing users.
                    publish
                        .values
                        .iter()
                        .filter(|v| v.is_active)
                        .filter(|v| {
                            let label = v.label.to_ascii_lowercase();
                            label.starts_with("internal") && !label.contains("co-managed")
                        })
                        .find_map(Picklist::parse_value)
                })
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "autotask: the publish picklist has no internal-only value (looked for {})",
                        PUBLISH_INTERNAL.join(", ")
                    ))
                }),
        }
    }

    /// The visibility of a `publish` value: customer-visible only for "All Autotask Users".
    pub(crate) fn visibility(&self, publish: Option<i64>) -> NoteVisibility {
        let customer = self
            .note("publish")
            .ok()
            .and_then(|p| p.value(PUBLISH_CUSTOMER));
        if publish.is_some() && publish == customer {
            NoteVisibility::Customer
        } else {
            NoteVisibility::Internal
        }
    }

    /// The note type to write: the configured label, else the picklist's default.
    pub(crate) fn note_type(&self, label: Option<&str>) -> Result<i64> {
        let types = self.note("noteType")?;
        match label {
            Some(label) => types.require(label),
            None => types.default_value().ok_or_else(|| {
                Error::invalid("autotask: the noteType picklist has no usable value")
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(value: i64, label: &str, default: bool, active: bool) -> PicklistValue {
        PicklistValue {
            value: value.to_string(),
            label: label.to_string(),
            is_default_value: default,
            is_active: active,
            is_system: false,
        }
    }

    fn lists(publish: Vec<PicklistValue>) -> Picklists {
        let mut notes = HashMap::new();
        notes.insert(
            "publish".to_string(),
            Picklist {
                field: "publish".into(),
                values: publish,
            },
        );
        Picklists {
            tickets: HashMap::new(),
            notes,
        }
    }

    #[test]
    fn publish_values_are_found_by_label_whatever_their_numbers() {
        let p = lists(vec![
            value(7, "All Autotask Users", false, true),
            value(9, "Internal & Co-Managed", false, true),
            value(5, "Internal Project Team", true, true),
        ]);
        assert_eq!(p.publish(NoteVisibility::Customer).unwrap(), 7);
        assert_eq!(p.publish(NoteVisibility::Internal).unwrap(), 5);
        assert_eq!(p.visibility(Some(7)), NoteVisibility::Customer);
        assert_eq!(p.visibility(Some(9)), NoteVisibility::Internal);
        assert_eq!(p.visibility(None), NoteVisibility::Internal);

        let renamed = lists(vec![
            value(1, "All Autotask Users", false, true),
            value(4, "Internal & Co-Managed", false, true),
            value(2, "Internal (techs)", false, true),
        ]);
        assert_eq!(renamed.publish(NoteVisibility::Internal).unwrap(), 2);

        let none = lists(vec![value(1, "All Autotask Users", false, true)]);
        let err = none.publish(NoteVisibility::Internal).unwrap_err();
        assert!(err.message().contains("internal-only"), "{err}");
    }

    #[test]
    fn inactive_values_are_never_written_but_still_read() {
        let list = Picklist {
            field: "queueID".into(),
            values: vec![
                value(10, "Help Desk", true, true),
                value(11, "Old Queue", false, false),
            ],
        };
        assert_eq!(list.value("help desk"), Some(10));
        assert_eq!(list.value("Old Queue"), None);
        assert_eq!(list.label(11), Some("Old Queue"));
        let err = list.require("Escalations").unwrap_err();
        assert!(err.message().contains("Help Desk"), "{err}");
        assert!(!err.message().contains("Old Queue"), "{err}");
        assert_eq!(list.default_value(), Some(10));
    }
}
