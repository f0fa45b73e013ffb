//! The operator documentation stays in step with the code: every configuration key of
//! `config/default.toml` is in `docs/configuration.md` with its environment variable, and every
//! audit event name is in the catalogue of `docs/monitoring.md`.

fn keys(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
    for (name, value) in table {
        let key = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match value {
            toml::Value::Table(inner) => keys(&key, inner, out),
            _ => out.push(key),
        }
    }
}

#[test]
fn every_configuration_key_is_documented() {
    let defaults: toml::Table = latchkey::config::DEFAULT_TOML.parse().unwrap();
    let mut all = Vec::new();
    keys("", &defaults, &mut all);
    assert!(all.len() > 40, "{all:?}");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let missing: Vec<_> = all
        .iter()
        .filter(|key| {
            let env = format!("LATCHKEY__{}", key.replace('.', "__").to_uppercase());
            !docs.contains(&format!("| `{key}` |")) || !docs.contains(&format!("`{env}`"))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "keys of config/default.toml missing from docs/configuration.md: {missing:?}"
    );
}

#[test]
fn every_operator_document_is_linked_from_the_readme() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    for entry in std::fs::read_dir(format!("{root}/docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            readme.contains(&format!("docs/{name}")),
            "docs/{name} is not linked from README.md"
        );
    }
}

#[test]
fn every_audit_event_is_in_the_catalogue() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/monitoring.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let catalogue = &docs[docs.find("### Catalogue").expect("the catalogue")..];
    let missing: Vec<&str> = latchkey::audit::Kind::ALL
        .iter()
        .map(|k| k.as_str())
        .filter(|name| !catalogue.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "audit events missing from docs/monitoring.md: {missing:?}"
    );
}
