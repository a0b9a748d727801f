//! `wasm-build`: the post-link steps of `scripts/build-storefront.sh` and
//! `scripts/build-admin.sh`, built from the same libraries as the `wasm-bindgen` and
//! `wasm-split-cli` binaries (Cargo.toml says why not those binaries).
//!
//! ```text
//! wasm-build split   --out-name NAME INPUT.wasm OUT_DIR
//! wasm-build bindgen --out-name NAME --out-dir OUT_DIR [--keep-lld-exports] [--no-demangle] INPUT.wasm
//! ```
//! Both always target `web` (ES modules loaded by `index.html`) and `bindgen` writes no
//! TypeScript. The arguments are parsed by hand: two fixed shapes called only by our scripts do
//! not justify a command-line crate in every first build.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

/// One parsed command line.
#[derive(Debug, PartialEq)]
enum Command {
    Split {
        out_name: String,
        input: PathBuf,
        out_dir: PathBuf,
    },
    Bindgen {
        out_name: String,
        out_dir: PathBuf,
        keep_lld_exports: bool,
        demangle: bool,
        input: PathBuf,
    },
}

const USAGE: &str = "usage:\n  wasm-build split --out-name NAME INPUT.wasm OUT_DIR\n  \
    wasm-build bindgen --out-name NAME --out-dir OUT_DIR [--keep-lld-exports] [--no-demangle] INPUT.wasm";

fn parse(args: &[String]) -> Result<Command, String> {
    let (verb, rest) = args.split_first().ok_or("no command given")?;
    let mut out_name = None;
    let mut out_dir = None;
    let mut keep_lld_exports = false;
    let mut demangle = true;
    let mut positional = Vec::new();
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out-name" => out_name = Some(it.next().ok_or("--out-name needs a value")?.clone()),
            "--out-dir" => {
                out_dir = Some(PathBuf::from(it.next().ok_or("--out-dir needs a value")?))
            }
            "--keep-lld-exports" if verb == "bindgen" => keep_lld_exports = true,
            "--no-demangle" if verb == "bindgen" => demangle = false,
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag} for {verb}"))
            }
            path => positional.push(PathBuf::from(path)),
        }
    }
    let out_name = out_name.ok_or("--out-name is required")?;
    match (verb.as_str(), positional.as_slice()) {
        ("split", [input, dir]) if out_dir.is_none() => Ok(Command::Split {
            out_name,
            input: input.clone(),
            out_dir: dir.clone(),
        }),
        ("split", _) => Err("split takes INPUT.wasm and OUT_DIR".into()),
        ("bindgen", [input]) => Ok(Command::Bindgen {
            out_name,
            out_dir: out_dir.ok_or("--out-dir is required")?,
            keep_lld_exports,
            demangle,
            input: input.clone(),
        }),
        ("bindgen", _) => Err("bindgen takes one INPUT.wasm".into()),
        (other, _) => Err(format!("unknown command {other}")),
    }
}

/// What `wasm-split-cli --target web --out-name NAME INPUT OUT_DIR` does.
fn split(out_name: &str, input: &Path, out_dir: &Path) -> Result<(), String> {
    let wasm = std::fs::read(input).map_err(|e| format!("reading {}: {e}", input.display()))?;
    let main_out_path = out_dir.join(format!("{out_name}.wasm"));
    let main_module = format!("./{out_name}.js");
    let mut opts = wasm_split_cli_support::Options::new(&wasm);
    opts.output_dir = out_dir;
    opts.main_out_path = &main_out_path;
    opts.main_module = &main_module;
    opts.target.web();
    wasm_split_cli_support::transform(opts)
        .map_err(|e| format!("splitting {}: {e:?}", input.display()))?;
    Ok(())
}

/// What `wasm-bindgen --target web --no-typescript [...]` does, with the CLI's other defaults.
fn bindgen(
    out_name: &str,
    out_dir: &Path,
    keep_lld_exports: bool,
    demangle: bool,
    input: &Path,
) -> Result<(), String> {
    let mut b = Bindgen::new();
    b.web(true).map_err(|e| e.to_string())?;
    b.input_path(input)
        .out_name(out_name)
        .demangle(demangle)
        .keep_lld_exports(keep_lld_exports)
        // The library's default omits it; the CLI's keeps it, and index.html relies on the
        // glue finding `<name>_bg.wasm` next to itself.
        .omit_default_module_path(false)
        .typescript(false);
    b.generate(out_dir)
        .map_err(|e| format!("wasm-bindgen on {}: {e:?}", input.display()))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match parse(&args) {
        Err(e) => Err(format!("{e}\n{USAGE}")),
        Ok(Command::Split {
            out_name,
            input,
            out_dir,
        }) => split(&out_name, &input, &out_dir),
        Ok(Command::Bindgen {
            out_name,
            out_dir,
            keep_lld_exports,
            demangle,
            input,
        }) => bindgen(&out_name, &out_dir, keep_lld_exports, demangle, &input),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm-build: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_the_storefront_and_admin_calls() {
        assert_eq!(
            parse(&args(
                "bindgen --keep-lld-exports --no-demangle --out-dir o --out-name frontend in.wasm"
            )),
            Ok(Command::Bindgen {
                out_name: "frontend".into(),
                out_dir: "o".into(),
                keep_lld_exports: true,
                demangle: false,
                input: "in.wasm".into()
            })
        );
        assert_eq!(
            parse(&args("bindgen --out-dir o --out-name admin in.wasm")),
            Ok(Command::Bindgen {
                out_name: "admin".into(),
                out_dir: "o".into(),
                keep_lld_exports: false,
                demangle: true,
                input: "in.wasm".into()
            })
        );
        assert_eq!(
            parse(&args("split --out-name frontend in.wasm out")),
            Ok(Command::Split {
                out_name: "frontend".into(),
                input: "in.wasm".into(),
                out_dir: "out".into()
            })
        );
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        assert!(parse(&args("bindgen --out-name a in.wasm"))
            .unwrap_err()
            .contains("--out-dir"));
        assert!(
            parse(&args("split --out-name a --keep-lld-exports in.wasm out"))
                .unwrap_err()
                .contains("unknown option")
        );
        assert!(parse(&args("split in.wasm out"))
            .unwrap_err()
            .contains("--out-name"));
        assert!(parse(&args("opt --out-name a x"))
            .unwrap_err()
            .contains("unknown command"));
        assert!(parse(&[]).is_err());
    }
}
