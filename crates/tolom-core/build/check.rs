//! The checks of the Fluent files, shared by `build.rs` (which fails the
//! build on any problem) and a unit test of `tolom_core::i18n` (which shows
//! that each kind of mistake is caught).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use fluent_syntax::ast;

/// The languages, in `tolom_core::i18n::Language::ALL` order.
pub const LANGUAGES: [&str; 3] = ["ky", "ru", "en"];
/// The language whose files give the enum's order and doc comments.
pub const REFERENCE: &str = "en";

/// One `.ftl` file to check.
pub struct Source<'a> {
    /// Language tag (`ky`, `ru`, `en`).
    pub lang: &'a str,
    /// File name, e.g. `errors.ftl`.
    pub file: &'a str,
    /// Its text.
    pub text: &'a str,
}

/// One message as the build sees it.
pub struct Msg {
    /// The file it is in.
    pub file: String,
    /// Variables it uses, directly or through referenced messages.
    pub vars: BTreeSet<String>,
    /// Messages it references.
    messages: BTreeSet<String>,
    /// Terms it references (without the leading `-`).
    terms: BTreeSet<String>,
    /// The comment right above it, line by line.
    pub comment: Vec<String>,
    /// The pattern as a translator reads it, for doc comments.
    pub text: String,
}

impl Msg {
    fn new(file: &str) -> Msg {
        Msg {
            file: file.to_string(),
            vars: BTreeSet::new(),
            messages: BTreeSet::new(),
            terms: BTreeSet::new(),
            comment: Vec::new(),
            text: String::new(),
        }
    }
}

/// Everything of one language.
#[derive(Default)]
pub struct Lang {
    /// id → message.
    pub messages: BTreeMap<String, Msg>,
    /// ids in the order of the files.
    pub order: Vec<String>,
    /// Term ids (without `-`).
    terms: BTreeSet<String>,
    /// Terms that reference terms: (term, referenced term).
    term_refs: Vec<(String, String)>,
    /// Files (`errors.ftl`, ...).
    pub files: BTreeSet<String>,
}

/// Checks the files of all languages: every problem found, as a sentence
/// naming the file, line or message. No problem: the languages by tag.
pub fn analyse(sources: &[Source<'_>]) -> Result<BTreeMap<String, Lang>, Vec<String>> {
    let mut problems = Vec::new();
    let mut langs: BTreeMap<String, Lang> = LANGUAGES
        .iter()
        .map(|t| (t.to_string(), Lang::default()))
        .collect();
    for source in sources {
        let Some(lang) = langs.get_mut(source.lang) else {
            problems.push(format!(
                "{}/{}: {} is not one of the languages {LANGUAGES:?}",
                source.lang, source.file, source.lang
            ));
            continue;
        };
        lang.files.insert(source.file.to_string());
        read_file(source, lang, &mut problems);
    }
    for lang in langs.values_mut() {
        resolve_variables(lang);
    }
    check(&langs, &mut problems);
    if problems.is_empty() {
        Ok(langs)
    } else {
        Err(problems)
    }
}

/// 1-based line and column of a byte offset.
fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

fn read_file(source: &Source<'_>, lang: &mut Lang, problems: &mut Vec<String>) {
    let where_ = format!("{}/{}", source.lang, source.file);
    // On a syntax error the parser still returns the entries it could
    // read (the broken one becomes junk), so one typo does not make every
    // other message of the file look missing.
    let resource = match fluent_syntax::parser::parse(source.text) {
        Ok(r) => r,
        Err((r, errors)) => {
            for e in errors {
                let (line, col) = line_col(source.text, e.pos.start);
                problems.push(format!("{where_}:{line}:{col}: does not parse: {}", e.kind));
            }
            r
        }
    };
    for entry in &resource.body {
        match entry {
            ast::Entry::Message(m) => {
                let id = m.id.name.to_string();
                let Some(value) = &m.value else {
                    problems.push(format!(
                        "{where_}: message {id} has no value (tolom formats message values only)"
                    ));
                    continue;
                };
                if !m.attributes.is_empty() {
                    problems.push(format!(
                        "{where_}: message {id} has attributes, which tolom does not use; make them messages of their own"
                    ));
                }
                if let Err(why) = check_id(&id) {
                    problems.push(format!("{where_}: message id {id:?} {why}"));
                }
                let mut msg = Msg::new(source.file);
                msg.comment = m
                    .comment
                    .as_ref()
                    .map(|c| c.content.iter().map(|l| l.to_string()).collect())
                    .unwrap_or_default();
                walk_pattern(value, &mut msg);
                msg.text = pattern_text(value);
                if let Some(previous) = lang.messages.get(&id) {
                    problems.push(format!(
                        "{where_}: message {id} is defined twice (also in {})",
                        previous.file
                    ));
                    continue;
                }
                lang.order.push(id.clone());
                lang.messages.insert(id, msg);
            }
            ast::Entry::Term(t) => {
                let id = t.id.name.to_string();
                let mut refs = Msg::new(source.file);
                walk_pattern(&t.value, &mut refs);
                for r in refs.terms {
                    lang.term_refs.push((id.clone(), r));
                }
                if !lang.terms.insert(id.clone()) {
                    problems.push(format!("{where_}: term -{id} is defined twice"));
                }
            }
            // Junk comes with a parse error, reported above.
            ast::Entry::Junk { .. }
            | ast::Entry::Comment(_)
            | ast::Entry::GroupComment(_)
            | ast::Entry::ResourceComment(_) => {}
        }
    }
}

/// Ids are lowercase `family-name[-more]` words: letters, digits and `_`,
/// joined by single dashes, so that `-` ⇄ `.` maps them to codes and back.
fn check_id(id: &str) -> Result<(), &'static str> {
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a lowercase letter");
    }
    if id.ends_with('-') || id.contains("--") {
        return Err("must not end with `-` or contain `--`");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err("may contain only a-z, 0-9, `_` and `-`");
    }
    Ok(())
}

fn walk_pattern(p: &ast::Pattern<&str>, msg: &mut Msg) {
    for element in &p.elements {
        if let ast::PatternElement::Placeable { expression } = element {
            walk_expression(expression, msg);
        }
    }
}

fn walk_expression(e: &ast::Expression<&str>, msg: &mut Msg) {
    match e {
        ast::Expression::Select { selector, variants } => {
            walk_inline(selector, msg);
            for v in variants {
                walk_pattern(&v.value, msg);
            }
        }
        ast::Expression::Inline(i) => walk_inline(i, msg),
    }
}

fn walk_inline(i: &ast::InlineExpression<&str>, msg: &mut Msg) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            msg.vars.insert(id.name.to_string());
        }
        ast::InlineExpression::MessageReference { id, .. } => {
            msg.messages.insert(id.name.to_string());
        }
        ast::InlineExpression::TermReference { id, arguments, .. } => {
            msg.terms.insert(id.name.to_string());
            if let Some(args) = arguments {
                walk_arguments(args, msg);
            }
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            walk_arguments(arguments, msg);
        }
        ast::InlineExpression::Placeable { expression } => walk_expression(expression, msg),
        ast::InlineExpression::StringLiteral { .. }
        | ast::InlineExpression::NumberLiteral { .. } => {}
    }
}

fn walk_arguments(args: &ast::CallArguments<&str>, msg: &mut Msg) {
    for p in &args.positional {
        walk_inline(p, msg);
    }
    for n in &args.named {
        walk_inline(&n.value, msg);
    }
}

/// Adds the variables of referenced messages (Fluent passes a message's
/// arguments on to the messages it references).
fn resolve_variables(lang: &mut Lang) {
    let mut all = BTreeMap::new();
    for id in lang.messages.keys() {
        let mut vars = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack = vec![id.clone()];
        while let Some(current) = stack.pop() {
            if !seen.insert(current.clone()) {
                continue;
            }
            if let Some(m) = lang.messages.get(&current) {
                vars.extend(m.vars.iter().cloned());
                stack.extend(m.messages.iter().cloned());
            }
        }
        all.insert(id.clone(), vars);
    }
    for (id, vars) in all {
        if let Some(m) = lang.messages.get_mut(&id) {
            m.vars = vars;
        }
    }
}

fn check(langs: &BTreeMap<String, Lang>, problems: &mut Vec<String>) {
    let Some(reference) = langs.get(REFERENCE) else {
        return;
    };
    if reference.messages.is_empty() {
        problems.push(format!("no messages in locales/{REFERENCE}"));
    }
    for (tag, lang) in langs {
        if lang.files != reference.files {
            problems.push(format!(
                "locales/{tag} has the files {:?} but locales/{REFERENCE} has {:?}: every language needs the same files",
                lang.files, reference.files
            ));
        }
        for (id, m) in &lang.messages {
            for r in &m.messages {
                if !lang.messages.contains_key(r) {
                    problems.push(format!(
                        "{tag}/{}: {id} references the message {r}, which {tag} does not have",
                        m.file
                    ));
                }
            }
            for r in &m.terms {
                if !lang.terms.contains(r) {
                    problems.push(format!(
                        "{tag}/{}: {id} references the term -{r}, which {tag} does not have",
                        m.file
                    ));
                }
            }
        }
        for (term, r) in &lang.term_refs {
            if !lang.terms.contains(r) {
                problems.push(format!(
                    "{tag}: the term -{term} references the term -{r}, which {tag} does not have"
                ));
            }
        }
    }
    let all_ids: BTreeSet<&String> = langs.values().flat_map(|l| l.messages.keys()).collect();
    for id in all_ids {
        let present: Vec<(&str, &Msg)> = LANGUAGES
            .iter()
            .filter_map(|t| langs.get(*t)?.messages.get(id).map(|m| (*t, m)))
            .collect();
        let missing: Vec<String> = LANGUAGES
            .iter()
            .filter(|t| langs.get(**t).is_none_or(|l| !l.messages.contains_key(id)))
            .map(|t| format!("locales/{t}"))
            .collect();
        if !missing.is_empty() {
            let have: Vec<String> = present
                .iter()
                .map(|(t, m)| format!("{t}/{}", m.file))
                .collect();
            problems.push(format!(
                "message {id} is in {} but missing from {}",
                have.join(", "),
                missing.join(", ")
            ));
            continue;
        }
        let (first_tag, first) = present[0];
        for (tag, m) in &present[1..] {
            if m.file != first.file {
                problems.push(format!(
                    "message {id} is in {first_tag}/{} but in {tag}/{}: keep it in the same file",
                    first.file, m.file
                ));
            }
            if m.vars != first.vars {
                problems.push(format!(
                    "message {id} uses the variables {:?} in {first_tag} but {:?} in {tag}",
                    first.vars, m.vars
                ));
            }
        }
    }
    // Distinct ids must give distinct variant names.
    let mut variants: BTreeMap<String, &String> = BTreeMap::new();
    for id in reference.messages.keys() {
        let v = variant(id);
        if let Some(other) = variants.insert(v.clone(), id) {
            problems.push(format!(
                "the ids {other} and {id} both become Text::{v}; rename one"
            ));
        }
    }
}

/// The enum variant of an id: `code-check_digit` → `CodeCheckDigit`.
pub fn variant(id: &str) -> String {
    id.split(['-', '_'])
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// The stable code of an id: `code-check_digit` → `code.check_digit`.
pub fn code(id: &str) -> String {
    id.replace('-', ".")
}

/// The pattern as a translator wrote it (placeables as `{ $var }`).
fn pattern_text(p: &ast::Pattern<&str>) -> String {
    let mut out = String::new();
    for element in &p.elements {
        match element {
            ast::PatternElement::TextElement { value } => out.push_str(value),
            ast::PatternElement::Placeable { expression } => match expression {
                ast::Expression::Inline(ast::InlineExpression::VariableReference { id }) => {
                    let _ = write!(out, "{{ ${} }}", id.name);
                }
                ast::Expression::Inline(ast::InlineExpression::MessageReference { id, .. }) => {
                    let _ = write!(out, "{{ {} }}", id.name);
                }
                ast::Expression::Inline(ast::InlineExpression::TermReference { id, .. }) => {
                    let _ = write!(out, "{{ -{} }}", id.name);
                }
                ast::Expression::Inline(ast::InlineExpression::StringLiteral { value }) => {
                    out.push_str(value);
                }
                _ => out.push_str("{ … }"),
            },
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}
