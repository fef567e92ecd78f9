//! The connectors this build has: one cargo feature per connector crate, each registered here
//! and nowhere else.

use stackhand_core::Registry;

/// Add every connector this build was compiled with to `registry`.
///
/// Each connector crate is behind a cargo feature (`connector-m365`, `connector-okta`, ...), all
/// on by default. Adding a connector is one feature in this crate's `Cargo.toml` and one line
/// here; nothing registers itself before `main`.
pub fn register_default_connectors(registry: &mut Registry) {
    #[cfg(feature = "connector-m365")]
    stackhand_m365::register(registry);
    #[cfg(feature = "connector-okta")]
    stackhand_okta::register(registry);
    #[cfg(feature = "connector-connectwise")]
    stackhand_connectwise::register(registry);
    #[cfg(feature = "connector-autotask")]
    stackhand_autotask::register(registry);
    #[cfg(feature = "connector-ninjaone")]
    stackhand_ninjaone::register(registry);
    #[cfg(feature = "connector-hudu")]
    stackhand_hudu::register(registry);
    #[cfg(feature = "connector-echo")]
    stackhand_echo::register(registry);
    // Keeps `registry` used in a build with no connector feature.
    let _ = registry;
}

/// A registry holding every connector this build was compiled with.
pub fn default_registry() -> Registry {
    let mut registry = Registry::new();
    register_default_connectors(&mut registry);
    registry
}
