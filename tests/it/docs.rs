//! The README and docs/ held to the binary and the repository (issue 29): the environment table
//! against `--help` (names and defaults), every `error_code` the code can produce (with its exit
//! code) in the error table, every command of `--help`'s usage, the two commands in the first
//! code block, and every relative link in README.md and docs/*.md resolving to a file here (and
//! its `#anchor` to a heading there).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::*;

/// The README's most lines: an operator's page; details go to docs/ (issue 29: "at most ~250").
const README_MAX_LINES: usize = 260;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn readme() -> String {
    read(&repo().join("README.md"))
}

/// README.md and every Markdown page in docs/.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    pages.extend(docs);
    pages
}

fn help() -> String {
    let out = worker().arg("--help").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The lines of `md` outside fenced code blocks.
fn prose_lines(md: &str) -> Vec<&str> {
    let mut fenced = false;
    md.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// The contents of each fenced code block of `md`, with its info string (`json`, `sh`, …).
fn code_blocks(md: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in md.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (open.take(), fence) {
            (None, Some(info)) => open = Some((info.trim().to_string(), String::new())),
            (Some(block), Some(_)) => blocks.push(block),
            (Some((info, mut text)), None) => {
                text.push_str(line);
                text.push('\n');
                open = Some((info, text));
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The cells of a Markdown table row (`| a | b |`), trimmed; `None` for any other line.
fn cells(line: &str) -> Option<Vec<String>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(|c| c.trim().to_string()).collect())
}

/// The body rows of the first table after the heading `heading` (header and rule dropped).
fn table_after(md: &str, heading: &str) -> Vec<Vec<String>> {
    let lines = prose_lines(md);
    let start = lines
        .iter()
        .position(|l| l.trim() == heading)
        .unwrap_or_else(|| panic!("README has no heading {heading:?}"));
    let rows: Vec<Vec<String>> = lines[start + 1..]
        .iter()
        .skip_while(|l| cells(l).is_none())
        .map_while(|l| cells(l))
        .skip(2)
        .collect();
    assert!(!rows.is_empty(), "no table after {heading:?}");
    rows
}

/// The first `code span` of a table cell, or the cell itself.
fn code_span(cell: &str) -> String {
    let mut parts = cell.split('`');
    match (parts.next(), parts.next()) {
        (Some(_), Some(code)) => code.to_string(),
        _ => cell.to_string(),
    }
}

/// `--help`'s variables: name → default as the README writes it (`required` for a variable
/// without one, `unset` for an optional one without one).
fn help_variables(help: &str) -> BTreeMap<String, String> {
    let section = help
        .split_once("ENVIRONMENT")
        .expect("--help has an ENVIRONMENT section")
        .1;
    section
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     "))
        .map(|l| match l.trim().split_once(" [") {
            Some((name, default)) => (name.to_string(), default.trim_end_matches(']').into()),
            None => (l.trim().to_string(), "required".to_string()),
        })
        .collect()
}

#[test]
fn the_environment_table_is_the_variables_of_help() {
    let help = help_variables(&help());
    assert!(help.len() >= 20, "{help:?}");
    let readme: BTreeMap<String, String> = table_after(&readme(), "## Environment")
        .iter()
        .map(|row| (code_span(&row[0]), code_span(&row[1])))
        .collect();
    for (name, default) in &help {
        match readme.get(name) {
            None => panic!("{name} is in --help but not in the README's environment table"),
            Some(d) => assert_eq!(d, default, "{name}: README default against --help's"),
        }
    }
    for name in readme.keys() {
        assert!(
            help.contains_key(name),
            "{name} is in the README but not in --help"
        );
    }
}

/// The arms of the function `fn_name` of src/error.rs: `Error` variant → what it returns.
/// A `_` arm gives the value of every variant not named.
fn error_arms(fn_name: &str) -> BTreeMap<String, String> {
    let source = read(&repo().join("src/error.rs"));
    let start = source
        .find(&format!("pub fn {fn_name}(&self)"))
        .unwrap_or_else(|| panic!("src/error.rs has no fn {fn_name}"));
    let body = &source[start..];
    let body = &body[..body.find("\n    }\n").expect("end of the function")];
    body.lines()
        .filter_map(|l| l.split_once("=>"))
        .map(|(pattern, value)| {
            let pattern = pattern.trim();
            let variant = match pattern.strip_prefix("Error::") {
                Some(v) => v.split(['(', ' ', '{']).next().unwrap().to_string(),
                None => pattern.to_string(),
            };
            let value = value.trim().trim_end_matches(',').trim_matches('"');
            (variant, value.to_string())
        })
        .collect()
}

/// Every `error_code` the binary can send (`Error::code()`, an exhaustive match: a new variant
/// must be given a code there) is in the README's table, with the exit code `Error::exit_code()`
/// gives it; and the table lists no code the binary never sends.
#[test]
fn every_error_code_is_in_the_readme_with_its_exit_code() {
    let codes = error_arms("code");
    assert!(!codes.contains_key("_"), "code() names every variant");
    assert!(codes.len() >= 12, "{codes:?}");
    let exits = error_arms("exit_code");
    let exit_of = |variant: &str| {
        exits
            .get(variant)
            .or_else(|| exits.get("_"))
            .unwrap_or_else(|| panic!("exit_code() has no arm for {variant}"))
            .clone()
    };
    let table: BTreeMap<String, String> = table_after(&readme(), "## Exit codes and error codes")
        .iter()
        .map(|row| (code_span(&row[0]), row[row.len() - 1].clone()))
        .collect();
    for (variant, code) in &codes {
        match table.get(code) {
            None => panic!("error_code {code} (Error::{variant}) is missing from the README"),
            Some(exit) => assert_eq!(*exit, exit_of(variant), "exit code of {code}"),
        }
    }
    let sent: BTreeSet<&String> = codes.values().collect();
    for code in table.keys() {
        assert!(
            sent.contains(code),
            "README lists {code}, which the binary never sends"
        );
    }
}

/// Every command of `--help`'s usage, exactly as written there, is in the README.
#[test]
fn every_command_of_help_is_in_the_readme() {
    let help = help();
    let readme = readme();
    let usage = help
        .split_once("USAGE:")
        .expect("--help has a USAGE section")
        .1;
    let usage = &usage[..usage.find("\n\n").expect("end of USAGE")];
    let mut commands = Vec::new();
    for line in usage.lines().map(str::trim) {
        let Some(rest) = line.strip_prefix("arke-image-processor") else {
            continue; // a description carried over to its own line
        };
        let synopsis = rest.split("  ").next().unwrap().trim();
        for alternative in synopsis.split(" | ") {
            commands.push(
                format!("arke-image-processor {alternative}")
                    .trim()
                    .to_string(),
            );
        }
    }
    assert!(commands.len() >= 5, "{commands:?}");
    for command in commands {
        assert!(
            readme.contains(&format!("`{command}`")),
            "`{command}` (from --help) is not in the README"
        );
    }
}

/// The README's first code block is the two commands, as CI runs them.
#[test]
fn the_first_code_block_is_the_two_commands() {
    let blocks = code_blocks(&readme());
    let (_, first) = blocks.first().expect("a code block");
    let commands: Vec<&str> = first
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(commands, ["cargo smoke", "cargo test --workspace"]);
    let lines = readme().lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines, over {README_MAX_LINES}: move details to docs/"
    );
}

/// Every JSON example of ours parses (a block of JSON lines, line by line). SPEC.md and
/// PRODUCT.md are the contract as written, comments in their JSON included.
#[test]
fn every_json_example_parses() {
    let contract = |p: &PathBuf| p.ends_with("docs/SPEC.md") || p.ends_with("docs/PRODUCT.md");
    for page in pages().into_iter().filter(|p| !contract(p)) {
        for (info, text) in code_blocks(&read(&page)) {
            if info != "json" || serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                continue;
            }
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                if let Err(e) = serde_json::from_str::<serde_json::Value>(line) {
                    panic!(
                        "{}: a JSON example does not parse: {e}\n{text}",
                        page.display()
                    );
                }
            }
        }
    }
}

/// The `(target)` of every inline link and image in `md`, outside code.
fn link_targets(md: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose_lines(md) {
        // Code spans hold no links; a link's text may be one.
        let text: String = line.split('`').step_by(2).collect::<Vec<_>>().join("");
        let mut rest = text.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').expect("a link's closing parenthesis");
            targets.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    targets
}

/// GitHub's anchors for the headings of `md`: lower case, punctuation dropped, spaces to
/// hyphens, `-1`, `-2`… for repeats.
fn anchors(md: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for line in prose_lines(md) {
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        let slug: String = title
            .trim_start_matches('#')
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let n = seen.entry(slug.clone()).or_insert(0);
        out.insert(match *n {
            0 => slug.clone(),
            k => format!("{slug}-{k}"),
        });
        *n += 1;
    }
    out
}

#[test]
fn every_relative_link_resolves_to_a_file_of_the_repository() {
    let root = repo().canonicalize().unwrap();
    let mut checked = 0;
    for page in pages() {
        let md = read(&page);
        for target in link_targets(&md) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = target.split_once('#').unwrap_or((target.as_str(), ""));
            let file = match path {
                "" => page.clone(),
                p => page.parent().unwrap().join(p),
            };
            let shown = format!("{} → {target}", page.display());
            let real = file
                .canonicalize()
                .unwrap_or_else(|_| panic!("{shown}: no such file"));
            assert!(real.starts_with(&root), "{shown}: outside the repository");
            if !anchor.is_empty() {
                assert_eq!(
                    real.extension().and_then(|e| e.to_str()),
                    Some("md"),
                    "{shown}"
                );
                assert!(
                    anchors(&read(&real)).contains(anchor),
                    "{shown}: no heading with that anchor"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 20, "only {checked} links found");
}

/// The README's "Further reading" links every page of docs/.
#[test]
fn the_readme_links_every_page_of_docs() {
    let targets = link_targets(&readme());
    for page in pages().iter().skip(1) {
        let name = format!("docs/{}", page.file_name().unwrap().to_str().unwrap());
        assert!(targets.contains(&name), "README.md does not link {name}");
    }
}
