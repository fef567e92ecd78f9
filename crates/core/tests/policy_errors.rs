//! Load errors name the file, the 1-based line and the field path.

use stackhand_core::policy::{PolicyDocument, PolicyError, PolicyLoader, Vocabulary};
use stackhand_core::{ActionId, Department, Error, ErrorKind, TenantGroupId, TenantId};

/// Load one document (with the built-in vocabulary) and return its error.
fn load_error(origin: &str, text: &str) -> PolicyError {
    vocabulary_error(Vocabulary::builtin(), origin, text)
}

#[track_caller]
fn assert_located(err: &PolicyError, origin: &str, line: usize, field: Option<&str>, needle: &str) {
    let text = err.to_string();
    assert_eq!(err.origin(), origin, "{text}");
    assert_eq!(err.line(), Some(line), "{text}");
    assert_eq!(err.field(), field, "{text}");
    let prefix = match field {
        Some(f) => format!("{origin}:{line}: {f}: "),
        None => format!("{origin}:{line}: "),
    };
    assert!(
        text.starts_with(&prefix),
        "expected prefix {prefix:?} in {text:?}"
    );
    assert!(text.contains(needle), "expected {needle:?} in {text:?}");
}

const HEAD: &str = "[scope]\nglobal = true\n\n[[rules]]\nid = \"ok\"\nactions = [\"psa.add_note\"]\neffect = \"allow\"\n\n";

#[test]
fn a_typoed_field_is_named_with_a_suggestion() {
    let text = format!(
        "{HEAD}[[rules]]\nid = \"r2\"\nactions = [\"identity.unlock\"]\nefect = \"deny\"\n"
    );
    let err = load_error("policies/acme.toml", &text);
    assert_located(
        &err,
        "policies/acme.toml",
        12,
        Some("rules[1].efect"),
        "unknown field \"efect\" (did you mean \"effect\"?), expected one of",
    );
}

#[test]
fn a_bad_enum_value_lists_the_variants() {
    let text = format!(
        "{HEAD}[[rules]]\nid = \"r2\"\nactions = [\"identity.unlock\"]\neffect = \"alow\"\n"
    );
    let err = load_error("policies/acme.toml", &text);
    assert_eq!(
        err.to_string(),
        "policies/acme.toml:12: rules[1].effect: unknown variant \"alow\" (did you mean \"allow\"?), expected one of \"allow\", \"approve\", \"deny\""
    );
}

#[test]
fn a_bad_requester_kind_is_located_in_the_when_table() {
    let text = format!("{HEAD}[rules.when]\nrequester_kinds = [\"end_user\", \"robot\"]\n");
    let err = load_error("g.toml", &text);
    assert_located(
        &err,
        "g.toml",
        10,
        Some("rules[0].when.requester_kinds[1]"),
        "unknown variant \"robot\"",
    );
}

#[test]
fn broken_toml_syntax_names_the_line() {
    let text = format!("{HEAD}[[rules]]\nid = \"r2\"\neffect = = \"allow\"\n");
    let err = load_error("broken.toml", &text);
    assert_located(&err, "broken.toml", 11, None, "invalid TOML");
}

#[test]
fn duplicate_ids_across_two_files_name_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a-global.toml"), HEAD).unwrap();
    let second = "[scope]\ntenant = \"acme-law\"\n\n[[caps]]\nid = \"c\"\nactions = [\"identity.*\"]\nmax_per_hour = 5\n\n[[rules]]\nid = \"ok\"\nactions = [\"identity.unlock\"]\neffect = \"allow\"\n";
    std::fs::write(dir.path().join("b-acme.toml"), second).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a policy").unwrap();
    let err = PolicyLoader::new().add_dir(dir.path()).build().unwrap_err();
    let first = dir.path().join("a-global.toml").display().to_string();
    let other = dir.path().join("b-acme.toml").display().to_string();
    assert_located(
        &err,
        &other,
        10,
        Some("rules[0].id"),
        &format!("duplicate id \"ok\": already defined at {first}:5"),
    );
}

#[test]
fn approve_without_approvers_is_refused() {
    let text = format!(
        "{HEAD}[[rules]]\nid = \"lic\"\nactions = [\"identity.assign_license\"]\neffect = \"approve\"\n"
    );
    let err = load_error("acme.toml", &text);
    assert_located(
        &err,
        "acme.toml",
        12,
        Some("rules[1].effect"),
        "rule \"lic\" has effect \"approve\" but no approvers",
    );
}

#[test]
fn approvers_on_allow_are_refused() {
    let text = format!("{HEAD}approvers = [{{ role = \"msp.lead\" }}]\n");
    let err = load_error("acme.toml", &text);
    assert_located(
        &err,
        "acme.toml",
        9,
        Some("rules[0].approvers"),
        "takes no approvers",
    );
}

#[test]
fn an_approver_names_exactly_one_authority() {
    let text = "[scope]\nglobal = true\n[[rules]]\nid = \"x\"\nactions = [\"psa.*\"]\neffect = \"approve\"\napprovers = [{ role = \"a\", group = \"b\" }]\n";
    let err = load_error("g.toml", text);
    assert_located(
        &err,
        "g.toml",
        7,
        Some("rules[0].approvers[0]"),
        "exactly one",
    );
}

#[test]
fn a_missing_or_ambiguous_scope_is_refused() {
    let err = load_error(
        "noscope.toml",
        "[[rules]]\nid = \"x\"\nactions = [\"psa.*\"]\neffect = \"allow\"\n",
    );
    assert_located(
        &err,
        "noscope.toml",
        1,
        Some("scope"),
        "missing [scope] table",
    );
    let err = load_error("two.toml", "\n[scope]\nglobal = true\ntenant = \"acme\"\n");
    assert_located(&err, "two.toml", 2, Some("scope"), "2 scope keys given");
    let err = load_error("bad.toml", "[scope]\ntenant = \"acme law\"\n");
    assert_located(
        &err,
        "bad.toml",
        2,
        Some("scope.tenant"),
        "invalid tenant id",
    );
}

#[test]
fn locked_rules_outside_the_global_scope_are_refused() {
    let text = "[scope]\ntenant = \"acme-law\"\n[[rules]]\nid = \"x\"\nactions = [\"psa.*\"]\neffect = \"allow\"\nlocked = true\n";
    let err = load_error("acme.toml", text);
    assert_located(
        &err,
        "acme.toml",
        7,
        Some("rules[0].locked"),
        "only rules in the global scope can be locked (this document's scope is tenant acme-law)",
    );
}

#[test]
fn an_action_glob_that_can_never_match_is_refused() {
    let text = "[scope]\nglobal = true\n[[rules]]\nid = \"x\"\nactions = [\n  \"psa.*\",\n  \"Identity.Reset\",\n]\neffect = \"allow\"\n";
    let err = load_error("g.toml", text);
    assert_located(
        &err,
        "g.toml",
        7,
        Some("rules[0].actions[1]"),
        "\"Identity.Reset\" can never match an action id",
    );
}

#[test]
fn an_empty_actions_list_is_refused() {
    let text = "[scope]\nglobal = true\n[[rules]]\nid = \"x\"\nactions = []\neffect = \"allow\"\n";
    let err = load_error("g.toml", text);
    assert_located(
        &err,
        "g.toml",
        5,
        Some("rules[0].actions"),
        "the actions list is empty",
    );
}

#[test]
fn a_zero_cap_is_refused() {
    let text = "[scope]\nglobal = true\n\n[[caps]]\nid = \"c\"\nactions = [\"identity.*\"]\nmax_per_hour = 0\n";
    let err = load_error("g.toml", text);
    assert_located(
        &err,
        "g.toml",
        7,
        Some("caps[0].max_per_hour"),
        "max_per_hour = 0",
    );
}

#[test]
fn a_missing_field_points_at_its_table() {
    let text = "[scope]\nglobal = true\n\n[[rules]]\nactions = [\"psa.*\"]\neffect = \"allow\"\n";
    let err = load_error("g.toml", text);
    assert_located(
        &err,
        "g.toml",
        4,
        Some("rules[0].id"),
        "missing field \"id\"",
    );
}

#[test]
fn a_params_predicate_needs_one_test_and_a_pointer() {
    let text = format!(
        "{HEAD}[rules.when]\nparams = [{{ path = \"/sku\", equals = 1, exists = true }}]\n"
    );
    let err = load_error("g.toml", &text);
    assert_located(
        &err,
        "g.toml",
        10,
        Some("rules[0].when.params[0]"),
        "exactly one of in, equals, matches or exists",
    );
    let text = format!("{HEAD}[rules.when]\nparams = [{{ path = \"sku\", exists = true }}]\n");
    let err = load_error("g.toml", &text);
    assert_located(
        &err,
        "g.toml",
        10,
        Some("rules[0].when.params[0].path"),
        "not a JSON pointer",
    );
}

#[test]
fn a_missing_file_is_a_read_error() {
    let err = PolicyLoader::new()
        .add_file("/nonexistent/stackhand/policy.toml")
        .build()
        .unwrap_err();
    assert!(matches!(err, PolicyError::Read { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/stackhand/policy.toml: cannot read policy"),
        "{err}"
    );
}

#[test]
fn a_policy_error_converts_into_an_invalid_core_error() {
    let err: Error = load_error("g.toml", "rules = 3\n[scope]\nglobal = true\n").into();
    assert_eq!(err.kind(), ErrorKind::Invalid);
    assert!(
        err.message().starts_with("g.toml:1: rules: invalid type"),
        "{}",
        err.message()
    );
}

#[test]
fn file_and_directory_sources_must_be_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("global.toml");
    std::fs::write(&file, HEAD).unwrap();
    let err = PolicyLoader::new()
        .add_file(dir.path())
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is a directory, not a policy file"),
        "{err}"
    );
    let err = PolicyLoader::new().add_dir(&file).build().unwrap_err();
    assert!(err.to_string().contains("is not a directory"), "{err}");
    // add_path takes either.
    for path in [dir.path(), file.as_path()] {
        let policy = PolicyLoader::new().add_path(path).build().unwrap();
        assert_eq!(policy.rule_count(), 1);
    }
}

// ---- Names that must exist: a typo is refused, never a silently dead rule or cap. ----

/// Load one document against `vocabulary` and return its error.
fn vocabulary_error(vocabulary: Vocabulary, origin: &str, text: &str) -> PolicyError {
    match PolicyLoader::new()
        .vocabulary(vocabulary)
        .add_str(origin, text)
        .build()
    {
        Ok(_) => panic!("{origin} should be refused"),
        Err(err) => err,
    }
}

#[test]
fn a_typoed_action_id_in_a_deny_rule_is_refused() {
    // On the old code this loaded, and the deny matched nothing: resets were not denied.
    let text = "[scope]\ntenant = \"acme-law\"\n\n[[rules]]\nid = \"no-resets\"\nactions = [\n  \"identity.unlock\",\n  \"identity.reset_pasword\",\n]\neffect = \"deny\"\n";
    let err = load_error("policies/acme.toml", text);
    assert_eq!(
        err.to_string(),
        "policies/acme.toml:8: rules[0].actions[1]: unknown action id \"identity.reset_pasword\" (did you mean \"identity.reset_password\"?)"
    );
}

#[test]
fn a_typoed_glob_in_a_cap_is_refused() {
    let text = "[scope]\nglobal = true\n\n[[caps]]\nid = \"identity-burst\"\nactions = [\"idenity.*\"]\nmax_per_hour = 30\n";
    let err = load_error("caps.toml", text);
    assert_eq!(
        err.to_string(),
        "caps.toml:6: caps[0].actions[0]: action glob \"idenity.*\" matches no known action id (did you mean \"identity.*\"?)"
    );
}

#[test]
fn a_glob_that_matches_no_known_action_is_refused() {
    let text = "[scope]\nglobal = true\n\n[[rules]]\nid = \"licences\"\nactions = [\"identity.*_licence\"]\neffect = \"deny\"\n";
    let err = load_error("g.toml", text);
    assert_located(
        &err,
        "g.toml",
        6,
        Some("rules[0].actions[0]"),
        "action glob \"identity.*_licence\" matches no known action id; known in \"identity\": ",
    );
    assert!(
        err.to_string().contains("\"identity.assign_license\""),
        "{err}"
    );
}

#[test]
fn vendor_actions_load_once_the_vocabulary_knows_them() {
    let text = "[scope]\ntenant_group = \"legal-clients\"\n\n[[rules]]\nid = \"no-forwarding\"\nactions = [\"m365.set_forwarding\", \"okta.*\"]\neffect = \"deny\"\n";
    let err = load_error("legal.toml", text);
    assert_located(
        &err,
        "legal.toml",
        6,
        Some("rules[0].actions[0]"),
        "unknown action id \"m365.set_forwarding\"; no known action is in namespace \"m365\" (known namespaces: \"docs\", \"identity\", \"messaging\", \"psa\", \"rmm\")",
    );
    let m365 = Vocabulary::builtin().with_actions([ActionId::from_static("m365.set_forwarding")]);
    let err = vocabulary_error(m365.clone(), "legal.toml", text);
    assert_located(
        &err,
        "legal.toml",
        6,
        Some("rules[0].actions[1]"),
        "action glob \"okta.*\" matches no known action id",
    );
    let both = m365.with_actions([ActionId::from_static("okta.suspend")]);
    let policy = PolicyLoader::new()
        .vocabulary(both)
        .add_str("legal.toml", text)
        .build()
        .unwrap();
    assert_eq!(policy.rule_count(), 1);
}

fn deployment() -> Vocabulary {
    Vocabulary::builtin()
        .with_tenants([TenantId::new("acme-law").unwrap()])
        .with_tenant_groups([TenantGroupId::new("legal-clients").unwrap()])
        .with_departments(
            &TenantId::new("acme-law").unwrap(),
            [Department::new("Finance"), Department::new("Litigation")],
        )
        .with_roles(["msp.tech", "msp.lead"])
}

#[test]
fn unknown_tenants_groups_departments_and_roles_are_refused_when_listed() {
    let cases = [
        (
            "[scope]\ntenant = \"acme-lw\"\n",
            2,
            "scope.tenant",
            "unknown tenant \"acme-lw\" (did you mean \"acme-law\"?)",
        ),
        (
            "[scope]\ntenant_group = \"legal-client\"\n",
            2,
            "scope.tenant_group",
            "unknown tenant group \"legal-client\" (did you mean \"legal-clients\"?)",
        ),
        (
            "[scope]\ndepartment = { tenant = \"acme-law\", name = \"Finace\" }\n",
            2,
            "scope.department.name",
            "unknown department \"Finace\" in tenant acme-law (did you mean \"Finance\"?)",
        ),
        (
            "[scope]\ndepartment = { tenant = \"other\", name = \"Finance\" }\n",
            2,
            "scope.department.tenant",
            "unknown tenant \"other\"; known: \"acme-law\"",
        ),
        (
            "[scope]\nglobal = true\n\n[[rules]]\nid = \"r\"\nactions = [\"identity.unlock\"]\neffect = \"approve\"\napprovers = [{ contact = \"it@acme.example\" }, { role = \"msp.laed\" }]\n",
            8,
            "rules[0].approvers[1].role",
            "unknown role \"msp.laed\" (did you mean \"msp.lead\"?)",
        ),
    ];
    for (text, line, field, message) in cases {
        let err = vocabulary_error(deployment(), "p.toml", text);
        assert_eq!(
            err.to_string(),
            format!("p.toml:{line}: {field}: {message}"),
            "{text}"
        );
        // The default vocabulary lists none of these, so it does not check them.
        PolicyLoader::new()
            .add_str("p.toml", text)
            .build()
            .unwrap_or_else(|e| panic!("unchecked names load: {e}"));
    }
}

#[test]
fn a_department_of_a_tenant_with_no_known_departments_is_refused() {
    let vocabulary = deployment().with_tenants([TenantId::new("other").unwrap()]);
    let err = vocabulary_error(
        vocabulary,
        "p.toml",
        "[scope]\ndepartment = { tenant = \"other\", name = \"Finance\" }\n",
    );
    assert_eq!(
        err.to_string(),
        "p.toml:2: scope.department.name: unknown department \"Finance\": no departments of tenant other are known"
    );
}

#[test]
fn a_document_can_be_checked_against_a_vocabulary_on_its_own() {
    let doc = PolicyDocument::parse(
        "inline",
        "[scope]\ntenant = \"acme-law\"\n[[rules]]\nid = \"r\"\nactions = [\"psa.add_nte\"]\neffect = \"allow\"\n",
    )
    .expect("parsing checks the document alone");
    let err = doc.check(&Vocabulary::builtin()).unwrap_err();
    assert_located(
        &err,
        "inline",
        5,
        Some("rules[0].actions[0]"),
        "(did you mean \"psa.add_note\"?)",
    );
}
