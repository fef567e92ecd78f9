//! The built-in, vendor-neutral actions, written once over the capability traits.
//!
//! `identity.*` works for any [`IdentityProvider`](crate::IdentityProvider), `psa.*` for any
//! [`Psa`](crate::Psa), and so on. Each plans by reading the current state (the state before,
//! which undo restores), executes only with the engine's proof, and reads back to verify.

mod docs;
mod identity;
mod messaging;
mod psa;
mod rmm;

use std::sync::Arc;

use crate::action::{Action, ActionCatalog, Typed, TypedAction};
use crate::model::{ActionId, ActionRequest, Plan};

pub use docs::*;
pub use identity::*;
pub use messaging::*;
pub use psa::*;
pub use rmm::*;

/// Every built-in action.
pub fn builtin() -> ActionCatalog {
    let all: Vec<Arc<dyn Action>> = vec![
        Typed::shared(FindUser),
        Typed::shared(ResetPassword),
        Typed::shared(Unlock),
        Typed::shared(ResetMfa),
        Typed::shared(RevokeSessions),
        Typed::shared(SetSignIn::<true>),
        Typed::shared(SetSignIn::<false>),
        Typed::shared(LicenseChange::<true>),
        Typed::shared(LicenseChange::<false>),
        Typed::shared(GroupChange::<true>),
        Typed::shared(GroupChange::<false>),
        Typed::shared(RemoveAll::<false>),
        Typed::shared(RemoveAll::<true>),
        Typed::shared(CreateUser),
        Typed::shared(MailboxAccess::<true>),
        Typed::shared(MailboxAccess::<false>),
        Typed::shared(AddNote),
        Typed::shared(SetStatus),
        Typed::shared(CloseTicket),
        Typed::shared(Reassign),
        Typed::shared(CreateContact),
        Typed::shared(DeactivateContact),
        Typed::shared(LinkToParent),
        Typed::shared(DeviceTag::<true>),
        Typed::shared(DeviceTag::<false>),
        Typed::shared(RunScript),
        Typed::shared(UpsertUserAsset),
        Typed::shared(StorePassword),
        Typed::shared(ArchiveAsset),
        Typed::shared(CreateArticle),
        Typed::shared(SendMessage),
    ];
    let mut catalog = ActionCatalog::new();
    for action in all {
        catalog
            .insert(action)
            .expect("built-in action ids are unique (tested below)");
    }
    catalog
}

/// A plan for a typed action, with the request's tenant.
pub(crate) fn plan_of<A: TypedAction>(request: &ActionRequest, summary: impl Into<String>) -> Plan {
    Plan::new(
        ActionId::from_static(A::DESCRIPTOR.id),
        request.tenant.clone(),
        summary,
    )
}

/// What a read-back answers for `record`: its state when it `shows` the change, else nothing.
pub(crate) fn read_back_of<T: serde::Serialize>(
    record: &T,
    shows: bool,
) -> crate::error::Result<Option<serde_json::Value>> {
    Ok(shows.then(|| serde_json::to_value(record)).transpose()?)
}

/// Whether a name a vendor holds is the one asked for (case and outer spaces aside).
pub(crate) fn same_name(held: &str, asked: &str) -> bool {
    held.trim().eq_ignore_ascii_case(asked.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_has_a_unique_id_summary_and_object_schema() {
        let catalog = builtin();
        assert_eq!(catalog.len(), 31);
        for spec in catalog.specs() {
            assert!(!spec.summary.is_empty(), "{}", spec.id);
            assert_eq!(spec.input_schema["type"], "object", "{}", spec.id);
            assert!(
                ["identity", "psa", "rmm", "docs", "messaging"].contains(&spec.id.namespace()),
                "{}",
                spec.id
            );
        }
    }
}
