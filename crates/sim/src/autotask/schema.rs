//! The entities the simulator serves and their fields, as `entityInformation/fields` reports them.
//!
//! One table drives everything: input coercion (case-insensitive names, types, lengths,
//! required and read-only fields), output shape (every field, `null` when unset), filter
//! validation and the field-information endpoint.

use serde_json::{Map, Value, json};

/// An Autotask entity the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Entity {
    Tickets,
    TicketNotes,
    Companies,
    Contacts,
    Resources,
}

impl Entity {
    /// The entity behind a URL segment (`Tickets`, `tickets`).
    pub(crate) fn from_segment(segment: &str) -> Option<Self> {
        match segment.to_ascii_lowercase().as_str() {
            "tickets" => Some(Self::Tickets),
            "ticketnotes" => Some(Self::TicketNotes),
            "companies" => Some(Self::Companies),
            "contacts" => Some(Self::Contacts),
            "resources" => Some(Self::Resources),
            _ => None,
        }
    }

    /// The singular name Autotask uses in messages (`Ticket`).
    pub(crate) fn singular(self) -> &'static str {
        match self {
            Self::Tickets => "Ticket",
            Self::TicketNotes => "TicketNote",
            Self::Companies => "Company",
            Self::Contacts => "Contact",
            Self::Resources => "Resource",
        }
    }

    /// The fields, in the order Autotask lists them.
    pub(crate) fn fields(self) -> &'static [Field] {
        match self {
            Self::Tickets => TICKET_FIELDS,
            Self::TicketNotes => NOTE_FIELDS,
            Self::Companies => COMPANY_FIELDS,
            Self::Contacts => CONTACT_FIELDS,
            Self::Resources => RESOURCE_FIELDS,
        }
    }

    /// Whether records carry `userDefinedFields`.
    pub(crate) fn has_udfs(self) -> bool {
        !matches!(self, Self::Resources)
    }

    /// A field by name, case-insensitively (the live API accepts either casing).
    pub(crate) fn field(self, name: &str) -> Option<&'static Field> {
        self.fields()
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

/// A field's data type, as `entityInformation/fields` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DataType {
    Integer,
    Long,
    String,
    DateTime,
    Boolean,
}

impl DataType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::Long => "long",
            Self::String => "string",
            Self::DateTime => "datetime",
            Self::Boolean => "boolean",
        }
    }
}

/// One field of an entity.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    pub(crate) ty: DataType,
    pub(crate) length: u32,
    pub(crate) required: bool,
    pub(crate) read_only: bool,
    pub(crate) picklist: bool,
    pub(crate) reference: Option<&'static str>,
}

const fn field(name: &'static str, ty: DataType) -> Field {
    Field {
        name,
        ty,
        length: 0,
        required: false,
        read_only: false,
        picklist: false,
        reference: None,
    }
}

impl Field {
    const fn text(name: &'static str, length: u32) -> Self {
        Self {
            length,
            ..field(name, DataType::String)
        }
    }
    const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }
    const fn read_only(self) -> Self {
        Self {
            read_only: true,
            ..self
        }
    }
    const fn picklist(self) -> Self {
        Self {
            picklist: true,
            ..self
        }
    }
    const fn refers(self, entity: &'static str) -> Self {
        Self {
            reference: Some(entity),
            ..self
        }
    }

    /// The field-information record, with the tenant's picklist values when it has some.
    pub(crate) fn info(&self, picklist: Option<&[PicklistValue]>) -> Value {
        let values: Vec<Value> = picklist
            .unwrap_or_default()
            .iter()
            .map(PicklistValue::to_json)
            .collect();
        json!({
            "name": self.name,
            "dataType": self.ty.as_str(),
            "length": self.length,
            "isRequired": self.required,
            "isReadOnly": self.read_only,
            "isQueryable": true,
            "isReference": self.reference.is_some(),
            "referenceEntityType": self.reference.unwrap_or(""),
            "isPickList": self.picklist,
            "picklistValues": if self.picklist { Value::Array(values) } else { Value::Null },
            "picklistParentValueField": "",
            "isSupportedWebhookField": false,
        })
    }
}

/// One value of a picklist. Values are tenant-specific integers sent as strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PicklistValue {
    pub(crate) value: i64,
    pub(crate) label: &'static str,
    pub(crate) is_default: bool,
    pub(crate) active: bool,
    pub(crate) system: bool,
}

impl PicklistValue {
    pub(crate) const fn new(value: i64, label: &'static str) -> Self {
        Self {
            value,
            label,
            is_default: false,
            active: true,
            system: false,
        }
    }
    pub(crate) const fn default_value(self) -> Self {
        Self {
            is_default: true,
            ..self
        }
    }
    pub(crate) const fn inactive(self) -> Self {
        Self {
            active: false,
            ..self
        }
    }
    pub(crate) const fn system(self) -> Self {
        Self {
            system: true,
            ..self
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "value": self.value.to_string(),
            "label": self.label,
            "isDefaultValue": self.is_default,
            "sortOrder": 0,
            "parentValue": "",
            "isActive": self.active,
            "isSystem": self.system,
        })
    }
}

use DataType::{Boolean, DateTime, Integer, Long};

const TICKET_FIELDS: &[Field] = &[
    field("id", Long).read_only(),
    field("assignedResourceID", Integer).refers("Resource"),
    field("assignedResourceRoleID", Integer).refers("Role"),
    field("companyID", Integer).required().refers("Company"),
    field("completedDate", DateTime).read_only(),
    field("contactID", Integer).refers("Contact"),
    field("createDate", DateTime).read_only(),
    field("creatorResourceID", Integer)
        .read_only()
        .refers("Resource"),
    Field::text("description", 8000),
    field("dueDateTime", DateTime),
    field("issueType", Integer).picklist(),
    field("lastActivityDate", DateTime).read_only(),
    field("priority", Integer).required().picklist(),
    field("problemTicketId", Integer).refers("Ticket"),
    field("queueID", Integer).picklist(),
    Field::text("resolution", 32000),
    field("source", Integer).picklist(),
    field("status", Integer).required().picklist(),
    Field::text("ticketNumber", 50).read_only(),
    field("ticketType", Integer).picklist(),
    Field::text("title", 255).required(),
];

const NOTE_FIELDS: &[Field] = &[
    field("id", Long).read_only(),
    field("createDateTime", DateTime).read_only(),
    field("creatorResourceID", Integer)
        .read_only()
        .refers("Resource"),
    Field::text("description", 32000).required(),
    field("impersonatorCreatorResourceID", Integer)
        .read_only()
        .refers("Resource"),
    field("lastActivityDate", DateTime).read_only(),
    field("noteType", Integer).required().picklist(),
    field("publish", Integer).required().picklist(),
    field("ticketID", Integer).required().refers("Ticket"),
    Field::text("title", 250).required(),
];

const COMPANY_FIELDS: &[Field] = &[
    field("id", Long).read_only(),
    Field::text("companyName", 100).required(),
    Field::text("companyNumber", 50),
    field("companyType", Integer).required().picklist(),
    field("createDate", DateTime).read_only(),
    field("isActive", Boolean),
    field("lastActivityDate", DateTime).read_only(),
    Field::text("phone", 25),
    Field::text("webAddress", 255),
];

const CONTACT_FIELDS: &[Field] = &[
    field("id", Long).read_only(),
    field("companyID", Integer).required().refers("Company"),
    field("createDate", DateTime).read_only(),
    Field::text("emailAddress", 254),
    Field::text("firstName", 50).required(),
    field("isActive", Integer).required(),
    field("lastActivityDate", DateTime).read_only(),
    field("lastModifiedDate", DateTime).read_only(),
    Field::text("lastName", 50).required(),
    Field::text("mobilePhone", 25),
    Field::text("phone", 25),
    Field::text("title", 50),
];

const RESOURCE_FIELDS: &[Field] = &[
    field("id", Long).read_only(),
    field("defaultServiceDeskRoleID", Long).read_only(),
    Field::text("email", 50).read_only(),
    Field::text("firstName", 50).read_only(),
    field("isActive", Boolean).read_only(),
    Field::text("lastName", 50).read_only(),
    Field::text("resourceType", 50).read_only(),
    Field::text("userName", 32).read_only(),
];

/// A stored record: canonical (camelCase) field names to values.
pub(crate) type Record = Map<String, Value>;

/// The record as the API returns it: every field, `null` when unset.
pub(crate) fn render(entity: Entity, record: &Record, include: Option<&[String]>) -> Value {
    let mut out = Map::new();
    for field in entity.fields() {
        let wanted = include.is_none_or(|names| {
            field.name == "id" || names.iter().any(|n| n.eq_ignore_ascii_case(field.name))
        });
        if wanted {
            out.insert(
                field.name.to_string(),
                record.get(field.name).cloned().unwrap_or(Value::Null),
            );
        }
    }
    if entity.has_udfs() && include.is_none() {
        out.insert("userDefinedFields".into(), Value::Array(Vec::new()));
    }
    Value::Object(out)
}
