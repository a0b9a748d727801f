//! The deployment files against the repository. Docker cannot run where the tests run, so this
//! reads the Dockerfile, .dockerignore, compose.yaml and docs/DEPLOY.md and checks what a build
//! or a merchant would otherwise find out the hard way: a COPY of a path that is not there (or
//! that .dockerignore leaves out), a final stage that takes something the build does not write,
//! a container running as root, a compose file on SQLite, and a guide that forgets a URL a
//! payment provider must be given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("backend/ sits in the repository")
        .to_path_buf()
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("reading {rel}: {e}"))
}

// --- the Dockerfile ------------------------------------------------------------------------

/// One instruction, continuation lines joined and comment lines dropped (as Docker does).
#[derive(Debug, Clone)]
struct Instruction {
    line: usize,
    keyword: String,
    args: String,
}

fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_none()) {
            continue;
        }
        let (start, mut joined) = pending.take().unwrap_or((i + 1, String::new()));
        let (part, continues) = match trimmed.strip_suffix('\\') {
            Some(p) => (p, true),
            None => (trimmed, false),
        };
        joined.push_str(part);
        joined.push(' ');
        if continues {
            pending = Some((start, joined));
            continue;
        }
        let joined = joined.trim();
        let (keyword, args) = joined
            .split_once(char::is_whitespace)
            .unwrap_or((joined, ""));
        out.push(Instruction {
            line: start,
            keyword: keyword.to_ascii_uppercase(),
            args: args.trim().to_string(),
        });
    }
    assert!(
        pending.is_none(),
        "the Dockerfile ends inside a continued line"
    );
    out
}

#[derive(Debug)]
struct Stage {
    name: Option<String>,
    body: Vec<Instruction>,
}

fn stages(text: &str) -> Vec<Stage> {
    let mut out: Vec<Stage> = Vec::new();
    for ins in instructions(text) {
        if ins.keyword == "FROM" {
            let words: Vec<&str> = ins
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, as_, name] if as_.eq_ignore_ascii_case("as") => Some(name.to_string()),
                [_] => None,
                other => panic!("line {}: cannot read FROM {other:?}", ins.line),
            };
            out.push(Stage { name, body: vec![] });
        } else {
            out.last_mut()
                .unwrap_or_else(|| panic!("line {}: {} before FROM", ins.line, ins.keyword))
                .body
                .push(ins);
        }
    }
    out
}

#[derive(Debug)]
struct Copy {
    line: usize,
    from: Option<String>,
    sources: Vec<String>,
    dest: String,
}

fn copies(stage: &Stage) -> Vec<Copy> {
    stage
        .body
        .iter()
        .filter(|i| i.keyword == "COPY" || i.keyword == "ADD")
        .map(|i| {
            let mut from = None;
            let mut rest = i.args.as_str();
            // Flags come first: --from=, --chown=, --chmod=, --link.
            while let Some(flag_and_more) = rest.strip_prefix("--") {
                let (flag, more) = flag_and_more
                    .split_once(char::is_whitespace)
                    .unwrap_or((flag_and_more, ""));
                if let Some(f) = flag.strip_prefix("from=") {
                    from = Some(f.to_string());
                }
                rest = more.trim_start();
            }
            let mut words: Vec<String> = if rest.starts_with('[') {
                serde_json::from_str(rest)
                    .unwrap_or_else(|e| panic!("line {}: bad JSON form: {e}", i.line))
            } else {
                rest.split_whitespace().map(str::to_string).collect()
            };
            assert!(
                words.len() >= 2,
                "line {}: {} needs a source and a destination",
                i.line,
                i.keyword
            );
            let dest = words.pop().unwrap_or_default();
            Copy {
                line: i.line,
                from,
                sources: words,
                dest,
            }
        })
        .collect()
}

/// Joins a path onto the working directory the way Docker does for COPY and WORKDIR.
fn absolute(workdir: &str, path: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), path)
    };
    let mut parts: Vec<&str> = Vec::new();
    for p in joined.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The working directory in effect at each instruction of a stage.
fn workdirs(stage: &Stage) -> Vec<String> {
    let mut wd = "/".to_string();
    stage
        .body
        .iter()
        .map(|i| {
            if i.keyword == "WORKDIR" {
                wd = absolute(&wd, i.args.trim());
            }
            wd.clone()
        })
        .collect()
}

/// `KEY=value` pairs of a stage's ENV instructions (later ones win).
fn env(stage: &Stage) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for i in stage.body.iter().filter(|i| i.keyword == "ENV") {
        for pair in i.args.split_whitespace() {
            let (k, v) = pair
                .split_once('=')
                .unwrap_or_else(|| panic!("line {}: write ENV as KEY=value", i.line));
            out.retain(|(old, _)| old != k);
            out.push((k.to_string(), v.trim_matches('"').to_string()));
        }
    }
    out
}

fn env_var(stage: &Stage, key: &str) -> String {
    env(stage)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("the final stage sets no {key}"))
}

// --- .dockerignore ---------------------------------------------------------------------------

/// Whether .dockerignore leaves `path` (relative to the repository) out of the build context:
/// it or one of its parent folders matches a pattern. Patterns are matched per path segment,
/// `*` and `?` within a segment and `**` across segments, as Docker's pattern matcher does;
/// `!` exceptions are not used here and are refused rather than half-supported.
fn ignored(patterns: &[String], path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    (1..=segs.len()).any(|n| {
        patterns.iter().any(|p| {
            let pat: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
            match_segments(&pat, &segs[..n])
        })
    })
}

fn match_segments(pat: &[&str], path: &[&str]) -> bool {
    match (pat.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            match_segments(&pat[1..], path) || (!path.is_empty() && match_segments(pat, &path[1..]))
        }
        (Some(p), Some(s)) => {
            wildcard(p.as_bytes(), s.as_bytes()) && match_segments(&pat[1..], &path[1..])
        }
        _ => false,
    }
}

fn wildcard(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => wildcard(&p[1..], s) || (!s.is_empty() && wildcard(p, &s[1..])),
        (Some(b'?'), Some(_)) => wildcard(&p[1..], &s[1..]),
        (Some(a), Some(b)) => a == b && wildcard(&p[1..], &s[1..]),
        _ => false,
    }
}

fn dockerignore() -> Vec<String> {
    read(".dockerignore")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            assert!(
                !l.starts_with('!'),
                "the test does not read ! exceptions: {l}"
            );
            assert!(!l.contains('['), "the test does not read [ ] classes: {l}");
            l.trim_start_matches('/').to_string()
        })
        .collect()
}

// --- what the build writes -------------------------------------------------------------------

/// The folder scripts/build-frontend.sh builds into, relative to the repository: its
/// `DIST="$ROOT/<folder>"` line.
fn dist_folder() -> String {
    read("scripts/build-frontend.sh")
        .lines()
        .find_map(|l| l.trim().strip_prefix("DIST=\"$ROOT/"))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("scripts/build-frontend.sh sets DIST=\"$ROOT/<folder>\"")
        .to_string()
}

/// The workspace members from Cargo.toml's `members = [..]` line.
fn workspace_members() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("Cargo.toml lists its workspace members on one line");
    line.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

// --- the tests -------------------------------------------------------------------------------

#[test]
fn every_copy_from_the_build_context_names_a_repository_path_that_docker_sends() {
    let text = read("Dockerfile");
    let ignore = dockerignore();
    let mut checked = 0;
    for stage in stages(&text) {
        for c in copies(&stage).into_iter().filter(|c| c.from.is_none()) {
            for src in &c.sources {
                assert!(
                    !src.contains(['*', '?', '[', '$']) && !src.contains("://"),
                    "Dockerfile line {}: write {src} as a plain path, so this test can check it",
                    c.line
                );
                let rel = src.trim_start_matches("./");
                assert!(
                    root().join(rel).exists(),
                    "Dockerfile line {}: COPY {src}: no such file or folder in the repository",
                    c.line
                );
                assert!(
                    !ignored(&ignore, rel),
                    "Dockerfile line {}: COPY {src}, but .dockerignore leaves it out of the build context",
                    c.line
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 5,
        "only {checked} COPY sources found: is the parser reading the file?"
    );
    // Build output, local data and secrets stay out of the image.
    for path in [
        "target/release/shop",
        "dist/index.html",
        ".env",
        "data/shop.db",
        "frontend/node_modules/.bin/esbuild",
    ] {
        assert!(
            ignored(&ignore, path),
            ".dockerignore should leave out {path}"
        );
    }
}

#[test]
fn the_final_stage_takes_what_the_build_stage_writes() {
    let text = read("Dockerfile");
    let stages = stages(&text);
    let last = stages.last().expect("the Dockerfile has a stage");
    let taken: Vec<Copy> = copies(last)
        .into_iter()
        .filter(|c| c.from.is_some())
        .collect();
    assert!(
        !taken.is_empty(),
        "the final stage copies nothing from a build stage"
    );
    let from = taken[0].from.clone().unwrap_or_default();
    assert!(
        taken.iter().all(|c| c.from.as_deref() == Some(&from)),
        "the final stage copies from one build stage"
    );
    let build = stages
        .iter()
        .find(|s| s.name.as_deref() == Some(&from))
        .unwrap_or_else(|| panic!("COPY --from={from}: no stage is named {from}"));

    // The stage runs both builds, from the copy of the repository in its working directory.
    let wds = workdirs(build);
    let (run_at, _) = build
        .body
        .iter()
        .enumerate()
        .find(|(_, i)| i.keyword == "RUN" && i.args.contains("cargo build --release -p shop"))
        .expect("the build stage runs `cargo build --release -p shop`");
    let repo = wds[run_at].clone();
    assert!(
        build
            .body
            .iter()
            .any(|i| i.keyword == "RUN" && i.args.contains("./scripts/build-frontend.sh")),
        "the build stage runs ./scripts/build-frontend.sh"
    );
    assert!(
        env(build).iter().all(|(k, _)| k != "CARGO_TARGET_DIR"),
        "CARGO_TARGET_DIR would move target/release/shop away from where the final stage looks"
    );

    // What the final stage takes is exactly what those two commands write.
    let binary = format!("{repo}/target/release/shop");
    let dist = format!("{repo}/{}", dist_folder());
    let sources: BTreeSet<String> = taken
        .iter()
        .flat_map(|c| c.sources.iter().map(|s| absolute(&repo, s)))
        .collect();
    assert_eq!(
        sources,
        BTreeSet::from([binary.clone(), dist.clone()]),
        "the final stage should take the release binary and the built frontend"
    );

    // The repository is copied in its own layout, so the scripts (which find everything from
    // the repository root) and the workspace see what they expect.
    let mut needed: Vec<String> = workspace_members();
    needed.extend(
        [
            "Cargo.toml",
            "Cargo.lock",
            "Trunk.toml",
            "migrations/sqlite",
            "migrations/postgres",
            "scripts/build-frontend.sh",
            "scripts/build-storefront.sh",
            "scripts/install-frontend-tools.sh",
            "scripts/wasm-drop-section.py",
            "frontend/package-lock.json",
            "frontend/admin/Trunk.toml",
        ]
        .map(String::from),
    );
    let placed: Vec<(String, String)> = copies(build)
        .into_iter()
        .filter(|c| c.from.is_none())
        .flat_map(|c| {
            let wd = wds[build
                .body
                .iter()
                .position(|i| i.line == c.line)
                .unwrap_or(0)]
            .clone();
            let into_folder = c.dest.ends_with('/') || c.sources.len() > 1;
            c.sources
                .iter()
                .map(|s| {
                    let rel = s.trim_start_matches("./").trim_end_matches('/').to_string();
                    let name = rel.rsplit('/').next().unwrap_or(&rel).to_string();
                    let to = if into_folder {
                        absolute(&absolute(&wd, &c.dest), &name)
                    } else {
                        absolute(&wd, &c.dest)
                    };
                    (rel, to)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for path in &needed {
        assert!(
            root().join(path).exists(),
            "{path} is not in the repository"
        );
        let landed = placed.iter().find_map(|(src, to)| {
            let rest = path.strip_prefix(src.as_str())?;
            (rest.is_empty() || rest.starts_with('/')).then(|| format!("{to}{rest}"))
        });
        assert_eq!(
            landed.as_deref(),
            Some(format!("{repo}/{path}").as_str()),
            "the build stage should copy {path} to {repo}/{path}"
        );
    }
}

#[test]
fn the_final_stage_runs_as_a_non_root_user_with_its_paths_set() {
    let text = read("Dockerfile");
    let stages = stages(&text);
    let last = stages.last().expect("the Dockerfile has a stage");
    let user = last
        .body
        .iter()
        .rev()
        .find(|i| i.keyword == "USER")
        .map(|i| i.args.clone())
        .expect("the final stage sets USER");
    let name = user.split(':').next().unwrap_or("");
    assert!(
        !["", "root", "0"].contains(&name),
        "the final stage runs as {user}"
    );
    if name.parse::<u32>().is_err() {
        assert!(
            last.body.iter().any(|i| i.keyword == "RUN"
                && (i.args.contains("useradd") || i.args.contains("adduser"))
                && i.args.split_whitespace().any(|w| w == name)),
            "the final stage never creates the user {name}"
        );
    }

    // The built frontend is where DIST_DIR says; data lives in the volume.
    let dist_dest = copies(last)
        .into_iter()
        .find(|c| {
            c.sources
                .iter()
                .any(|s| s.ends_with(&format!("/{}", dist_folder())))
        })
        .map(|c| absolute("/", &c.dest))
        .expect("the final stage copies the built frontend");
    assert_eq!(env_var(last, "DIST_DIR"), dist_dest);
    let volume = last
        .body
        .iter()
        .find(|i| i.keyword == "VOLUME")
        .map(|i| {
            i.args
                .trim_matches(|c| c == '[' || c == ']' || c == '"')
                .to_string()
        })
        .expect("the final stage declares a VOLUME");
    let db = env_var(last, "DATABASE_URL");
    let db_path = db
        .strip_prefix("sqlite://")
        .expect("the image's default database is SQLite");
    assert!(
        db_path.starts_with(&format!("{volume}/")),
        "{db} is outside {volume}"
    );
    assert!(env_var(last, "MEDIA_DIR").starts_with(&format!("{volume}/")));
    let bind = env_var(last, "BIND_ADDR");
    let port = bind.rsplit(':').next().unwrap_or("");
    assert!(
        bind.starts_with("0.0.0.0:"),
        "BIND_ADDR={bind} is not reachable from outside the container"
    );
    assert!(
        last.body
            .iter()
            .any(|i| i.keyword == "EXPOSE" && i.args.split_whitespace().any(|p| p == port)),
        "EXPOSE should name BIND_ADDR's port {port}"
    );
}

fn compose() -> Yaml {
    let text = read("compose.yaml");
    YamlLoader::load_from_str(&text)
        .expect("compose.yaml is YAML")
        .into_iter()
        .next()
        .expect("compose.yaml has a document")
}

/// A service's `environment:` as a map or as a list of `KEY=value`.
fn compose_env(service: &Yaml, key: &str) -> Option<String> {
    let e = &service["environment"];
    if let Some(map) = e.as_hash() {
        return map
            .get(&Yaml::String(key.to_string()))
            .and_then(|v| v.as_str().map(str::to_string));
    }
    e.as_vec()?.iter().find_map(|item| {
        let (k, v) = item.as_str()?.split_once('=')?;
        (k == key).then(|| v.to_string())
    })
}

#[test]
fn compose_runs_the_shop_on_postgres_once_it_is_healthy() {
    let doc = compose();
    let services = &doc["services"];
    let shop = &services["shop"];
    assert!(!shop.is_badvalue(), "compose.yaml has no shop service");
    assert!(
        !shop["build"].is_badvalue(),
        "the shop service builds the Dockerfile"
    );
    assert!(
        !shop["env_file"].is_badvalue(),
        "the shop service reads its secrets from an env_file"
    );
    let url = compose_env(shop, "DATABASE_URL").expect("the shop service sets DATABASE_URL");
    assert!(url.starts_with("postgres://"), "DATABASE_URL={url}");

    let deps = shop["depends_on"]
        .as_hash()
        .expect("depends_on with a condition (a map)");
    let mut waits_for_postgres = false;
    for (name, how) in deps {
        let name = name.as_str().unwrap_or_default();
        let db = &services[name];
        if db["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("postgres:"))
        {
            assert_eq!(how["condition"].as_str(), Some("service_healthy"));
            assert!(
                !db["healthcheck"]["test"].is_badvalue(),
                "{name} needs a healthcheck for service_healthy"
            );
            assert!(
                url.contains(&format!("@{name}:")),
                "DATABASE_URL should name the {name} service"
            );
            waits_for_postgres = true;
        }
    }
    assert!(
        waits_for_postgres,
        "the shop service waits for a postgres: service"
    );

    // Paths set in compose.yaml win over .env and must match the image.
    let stages = stages(&read("Dockerfile"));
    let last = stages.last().expect("the Dockerfile has a stage");
    assert_eq!(
        compose_env(shop, "DIST_DIR"),
        Some(env_var(last, "DIST_DIR"))
    );
    assert_eq!(
        compose_env(shop, "BIND_ADDR"),
        Some(env_var(last, "BIND_ADDR"))
    );
}

/// Every string literal `"/webhooks/…"` in the given sources: the routes providers call.
fn webhook_routes(dirs: &[&str]) -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.expect("directory entry").path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        walk(&root().join(d), &mut files);
    }
    let mut out = BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for (i, _) in text.match_indices("\"/webhooks/") {
            let rest = &text[i + 1..];
            if let Some(end) = rest.find('"') {
                out.insert(rest[..end].to_string());
            }
        }
    }
    out
}

/// Event types a webhook handler matches on: quoted literals left of `=>` that look like
/// `checkout.session.completed` (or `PAYMENT.CAPTURE.COMPLETED`).
fn handled_events(file: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in read(file).lines() {
        let Some((arm, _)) = line.split_once("=>") else {
            continue;
        };
        for lit in arm.split('"').skip(1).step_by(2) {
            let parts: Vec<&str> = lit.split('.').collect();
            if parts.len() >= 2
                && parts.iter().all(|p| {
                    !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
                })
            {
                out.insert(lit.to_string());
            }
        }
    }
    out
}

#[test]
fn the_deploy_guide_names_every_provider_url_event_and_the_proxy_settings() {
    let guide = read("docs/DEPLOY.md");
    let routes = webhook_routes(&["backend/src/payments", "backend/src/telegram"]);
    for expected in [
        "/webhooks/click/prepare",
        "/webhooks/click/complete",
        "/webhooks/payme",
        "/webhooks/stripe",
        "/webhooks/paypal",
        "/webhooks/yookassa",
        "/webhooks/telegram",
    ] {
        assert!(
            routes.contains(expected),
            "the scan of the routes missed {expected}: {routes:?}"
        );
    }
    for r in &routes {
        assert!(guide.contains(r.as_str()), "docs/DEPLOY.md never names {r}");
    }

    let stripe = handled_events("backend/src/payments/stripe/webhook.rs");
    let paypal = handled_events("backend/src/payments/paypal/routes.rs");
    assert!(stripe.contains("checkout.session.completed"), "{stripe:?}");
    assert!(paypal.contains("PAYMENT.CAPTURE.COMPLETED"), "{paypal:?}");
    let yookassa = handled_events("backend/src/payments/yookassa/webhook.rs");
    assert!(yookassa.contains("payment.succeeded"), "{yookassa:?}");
    for e in stripe.iter().chain(&paypal).chain(&yookassa) {
        assert!(
            guide.contains(&format!("`{e}`")),
            "docs/DEPLOY.md does not list the event {e} for the provider's dashboard"
        );
    }

    for needle in [
        "TRUSTED_PROXIES=127.0.0.1,::1",
        "X-Forwarded-For",
        "BIND_ADDR=127.0.0.1:8080",
    ] {
        assert!(
            guide.contains(needle),
            "docs/DEPLOY.md should mention {needle}"
        );
    }

    // The proxies' body limits let the largest upload through.
    let largest = (shop::admin::images::MAX_BYTES + 64 * 1024)
        .max(shop::admin::spreadsheet::MAX_IMPORT_BYTES);
    let mut limits = 0;
    for line in guide.lines() {
        let line = line.trim().trim_end_matches(';');
        let size = if let Some(v) = line.strip_prefix("client_max_body_size ") {
            v.strip_suffix('m').map(|n| (n, 1024 * 1024))
        } else if let Some(v) = line.strip_prefix("max_size ") {
            v.strip_suffix("MiB").map(|n| (n, 1024 * 1024))
        } else {
            continue;
        };
        let (n, unit) = size.unwrap_or_else(|| panic!("read the size in `{line}` as m or MiB"));
        let bytes = n.trim().parse::<usize>().expect("a whole number") * unit;
        assert!(
            bytes >= largest,
            "`{line}` is below the {largest} bytes the shop accepts"
        );
        limits += 1;
    }
    assert!(
        limits >= 2,
        "docs/DEPLOY.md should set the body limit for nginx and Caddy"
    );
}
