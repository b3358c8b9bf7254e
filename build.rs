//! Builds the web app (`web/` → `web/dist/`) so that `cargo build` alone produces a
//! self-contained binary. Needs Node.js and npm; `LATCHKEY_SKIP_WEB_BUILD=1` skips it
//! (the binary then serves whatever `web/dist/` holds, or a notice that it is missing).

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=LATCHKEY_SKIP_WEB_BUILD");
    for input in [
        "web/src",
        "web/public",
        "web/index.html",
        "web/package.json",
        "web/package-lock.json",
        "web/vite.config.ts",
        "web/tsconfig.json",
        // The web app compiles the client package from its sources.
        "clients/js/src",
        "clients/js/package.json",
    ] {
        // A path that does not exist would make cargo rerun this script on every build.
        if Path::new(input).exists() {
            println!("cargo:rerun-if-changed={input}");
        }
    }
    let web = Path::new("web");
    if std::env::var_os("LATCHKEY_SKIP_WEB_BUILD").is_some_and(|v| v != "0") || !web.join("package.json").exists() {
        if !web.join("dist/index.html").exists() {
            println!("cargo:warning=the web app is not built (web/dist/index.html missing); the binary will serve a notice at /");
        }
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    if Command::new(npm).arg("--version").output().map(|o| !o.status.success()).unwrap_or(true) {
        panic!(
            "\n\nlatchkey's web app needs Node.js (20.19 or newer) and npm to build: install them from \
             https://nodejs.org or your package manager, then build again.\n\
             To build the server alone, set LATCHKEY_SKIP_WEB_BUILD=1.\n\n"
        );
    }
    let installed = web.join("node_modules/.package-lock.json");
    let stale = match (std::fs::metadata(&installed), std::fs::metadata(web.join("package-lock.json"))) {
        (Ok(done), Ok(lock)) => lock.modified().ok() > done.modified().ok(),
        _ => true,
    };
    if stale {
        run(Command::new(npm).args(["ci", "--no-audit", "--no-fund"]).current_dir(web), "npm ci");
    }
    run(Command::new(npm).args(["run", "build"]).current_dir(web), "npm run build");
}

fn run(command: &mut Command, what: &str) {
    match command.status() {
        Ok(status) if status.success() => {}
        Ok(status) => panic!("`{what}` in web/ failed ({status}); its output is above"),
        Err(e) => panic!("cannot run `{what}` in web/: {e}"),
    }
}
