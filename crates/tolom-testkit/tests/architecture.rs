//! The workspace's architecture, checked on its sources:
//!
//! - no module cycles in any crate, at any level (a module and its
//!   siblings never use each other in a loop);
//! - the core's domain modules import no port and no use case;
//! - drivers (the portal, the admin API, the command line) never name a
//!   storage port: only the composition root opens a store, and everything
//!   else goes through the use cases;
//! - the core depends on none of tokio, sqlx, axum, reqwest, lettre.
//!
//! Comments and `#[cfg(test)]` modules are left out: a doc link or a test
//! is not a dependency.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A source file's module path inside its crate (`lib.rs` is `[]`).
fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its test module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| match l.find(" //") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The module paths a file refers to (`crate::a::b`, `super::c`, and the
/// items of `crate::{a, b::c}` groups), resolved to absolute paths.
fn references(module: &[String], is_mod_rs: bool, code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // The module `super` names: the parent of the file's module.
    let parent: Vec<String> = if module.is_empty() {
        Vec::new()
    } else {
        module[..module.len() - 1].to_vec()
    };
    let _ = is_mod_rs;
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent)] {
        let mut rest = code;
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let path: Vec<String> = item
                        .trim()
                        .split("::")
                        .map(|s| ident(s.trim()).to_string())
                        .filter(|s| !s.is_empty())
                        .collect();
                    let mut full = base.clone();
                    full.extend(path);
                    out.push(full);
                }
                continue;
            }
            let mut path = base.clone();
            let mut s = rest;
            loop {
                let id = ident(s);
                if id.is_empty() {
                    break;
                }
                path.push(id.to_string());
                s = &s[id.len()..];
                match s.strip_prefix("::") {
                    Some(next) if !next.starts_with('{') => s = next,
                    _ => break,
                }
            }
            out.push(path);
        }
    }
    out
}

/// Cycles among the children of each module of a crate.
fn cycles(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(src, f)).collect();
    // For each parent module: edges between its children.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_path(src, file);
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for target in references(&module, is_mod_rs, &code(&text)) {
            // The deepest common ancestor of the two modules; the edge goes
            // between its children on each side.
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common >= module.len() || common >= target.len() {
                continue; // a module using its own descendant or ancestor
            }
            let parent = module[..common].to_vec();
            let from = module[common].clone();
            let mut to_path = parent.clone();
            to_path.push(target[common].clone());
            if !modules.contains(&to_path) {
                continue; // an item of the parent, not a child module
            }
            graphs
                .entry(parent)
                .or_default()
                .entry(from)
                .or_default()
                .insert(target[common].clone());
        }
    }
    let mut found = Vec::new();
    for (parent, graph) in graphs {
        // Depth-first search for a back edge.
        fn visit(
            node: &str,
            graph: &BTreeMap<String, BTreeSet<String>>,
            stack: &mut Vec<String>,
            done: &mut BTreeSet<String>,
            found: &mut Vec<Vec<String>>,
        ) {
            if let Some(i) = stack.iter().position(|n| n == node) {
                let mut cycle = stack[i..].to_vec();
                cycle.push(node.to_string());
                found.push(cycle);
                return;
            }
            if done.contains(node) {
                return;
            }
            stack.push(node.to_string());
            for next in graph.get(node).into_iter().flatten() {
                visit(next, graph, stack, done, found);
            }
            stack.pop();
            done.insert(node.to_string());
        }
        let mut done = BTreeSet::new();
        let mut loops = Vec::new();
        for node in graph.keys() {
            visit(node, &graph, &mut Vec::new(), &mut done, &mut loops);
        }
        for l in loops {
            let at = if parent.is_empty() {
                "crate".to_string()
            } else {
                format!("crate::{}", parent.join("::"))
            };
            found.push(format!("{at}: {}", l.join(" -> ")));
        }
    }
    found
}

fn crates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(workspace().join("crates"))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.extend(
        std::fs::read_dir(workspace().join("examples"))
            .map(|d| d.flatten().map(|e| e.path()).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    out.retain(|p| p.join("src").is_dir());
    out.sort();
    out
}

#[test]
fn no_module_cycles_anywhere_in_the_workspace() {
    let crates = crates();
    assert!(crates.len() >= 12, "found only {} crates", crates.len());
    let mut all = Vec::new();
    for krate in &crates {
        for c in cycles(&krate.join("src")) {
            all.push(format!(
                "{}: {c}",
                krate.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    assert!(all.is_empty(), "module cycles:\n{}", all.join("\n"));
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let dir = std::env::temp_dir().join(format!("tolom-arch-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a")).expect("dir");
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\n").expect("lib");
    std::fs::write(
        src.join("a/mod.rs"),
        "mod x;\nmod y;\nuse crate::b::Thing;\n",
    )
    .expect("a");
    std::fs::write(src.join("a/x.rs"), "use super::y::Y;\n// use super::z;\n").expect("x");
    std::fs::write(src.join("a/y.rs"), "use crate::a::x::X;\n").expect("y");
    std::fs::write(
        src.join("b.rs"),
        "use crate::{a::x, c};\n#[cfg(test)]\nuse crate::a;\n",
    )
    .expect("b");
    let found = cycles(&src);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        found,
        vec![
            "crate: a -> b -> a".to_string(),
            "crate::a: x -> y -> x".to_string()
        ]
    );
}

/// Domain modules of the core: they import no port and no use case.
const DOMAIN: [&str; 16] = [
    "access",
    "audit",
    "card",
    "catalogue",
    "charge",
    "checkdigit",
    "code",
    "events",
    "hex",
    "i18n",
    "money",
    "outbox",
    "payment",
    "receipt",
    "terms",
    "time",
];

#[test]
fn the_domain_imports_no_port() {
    let src = workspace().join("crates/tolom-core/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut bad = Vec::new();
    for file in files {
        let module = module_path(&src, &file);
        let Some(top) = module.first() else { continue };
        if !DOMAIN.contains(&top.as_str()) {
            continue;
        }
        let text = code(&std::fs::read_to_string(&file).unwrap_or_default());
        for forbidden in ["crate::ports", "crate::usecases", "crate::errors"] {
            if text.contains(forbidden) {
                bad.push(format!("{}: {forbidden}", file.display()));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "domain modules import ports or use cases:\n{}",
        bad.join("\n")
    );
}

/// The storage ports' names, as a driver would write them.
const STORAGE_PORTS: [&str; 8] = [
    "ChargeStore",
    "PaymentStore",
    "OutboxStore",
    "EventLog",
    "TermsStore",
    "OpsStore",
    "StoreHealth",
    "Store",
];

#[test]
fn drivers_never_reach_a_store() {
    let root = workspace();
    let mut bad = Vec::new();
    for krate in ["tolom-http", "tolom-admin", "tolom-cli"] {
        let src = root.join("crates").join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        assert!(!files.is_empty(), "{krate} has sources");
        for file in files {
            // The composition root opens the store and hands it to the
            // builder; it calls nothing on it.
            if file.components().any(|c| c.as_os_str() == "compose") {
                continue;
            }
            let text = code(&std::fs::read_to_string(&file).unwrap_or_default());
            for port in STORAGE_PORTS {
                let word =
                    |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
                let named = |prefix: &str| {
                    let needle = format!("{prefix}{port}");
                    let mut rest = text.as_str();
                    while let Some(i) = rest.find(&needle) {
                        if !word(rest[i + needle.len()..].chars().next()) {
                            return true;
                        }
                        rest = &rest[i + needle.len()..];
                    }
                    false
                };
                // `ports::Store`, `dyn Store`, or the trait in a
                // `tolom_core::ports::{...}` group (an enum variant called
                // `Store` is not the port).
                let in_group = text.split("ports::{").skip(1).any(|g| {
                    g.split('}')
                        .next()
                        .unwrap_or("")
                        .split(',')
                        .any(|item| item.trim() == port)
                });
                if named("ports::") || named("dyn ") || in_group {
                    bad.push(format!("{}: {port}", file.display()));
                }
            }
        }
    }
    assert!(
        bad.is_empty(),
        "drivers naming a storage port:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_core_depends_on_no_runtime_or_driver() {
    let manifest = std::fs::read_to_string(workspace().join("crates/tolom-core/Cargo.toml"))
        .unwrap_or_default();
    let deps = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .unwrap_or_default();
    for forbidden in ["tokio", "sqlx", "axum", "reqwest", "lettre", "hyper"] {
        assert!(
            !deps.lines().any(|l| l.trim_start().starts_with(forbidden)),
            "tolom-core depends on {forbidden}"
        );
    }
    assert!(deps.contains("async-trait"), "read the real [dependencies]");
}
