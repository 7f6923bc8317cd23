//! The portal's only scripts: the crypto core as WebAssembly (`static/speakup-crypto.wasm`, built
//! from `src/crypto` by wasm/build.sh), its loader (`static/speakup.js`) and the page scripts
//! that use it. All are compiled into the binary; their Subresource Integrity hashes are computed
//! once at start, so a page only ever runs exactly the bytes this binary was built with.
//!
//! Pages that use them get [`SCRIPT_CSP`], which allows scripts from this origin (and then only
//! with a matching integrity attribute in the page) and WebAssembly compilation, and nothing
//! inline. Every other page keeps the strict no-script policy of [`super::headers`].

use std::sync::LazyLock;

use actix_web::HttpResponse;
use actix_web::http::header::{self, HeaderValue};
use serde::Serialize;
use sha2::{Digest, Sha384};

/// The policy of pages that run the crypto module: scripts only from this origin, WebAssembly
/// allowed, no inline script or style, requests only to this origin.
pub const SCRIPT_CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

const LOADER: &[u8] = include_bytes!("../../static/speakup.js");
const MODULE: &[u8] = include_bytes!("../../static/speakup-crypto.wasm");

const REPORTER: &[u8] = include_bytes!("../../static/reporter.js");
const CONSOLE: &[u8] = include_bytes!("../../static/console.js");

const LOADER_PATH: &str = "/static/speakup.js";
const MODULE_PATH: &str = "/static/speakup-crypto.wasm";
const REPORTER_PATH: &str = "/static/reporter.js";
const CONSOLE_PATH: &str = "/static/console.js";

// The reporter's mailbox in the browser.
const MAILBOX: &[u8] = include_bytes!("../../static/mailbox.js");
const MAILBOX_PATH: &str = "/static/mailbox.js";

/// `sha384-…` as the `integrity` attribute and `fetch` option take it.
pub fn integrity(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        data_encoding::BASE64.encode(&Sha384::digest(bytes))
    )
}

/// What a page needs to load the crypto module: rendered by `_scripts.html`.
#[derive(Debug, Clone, Serialize)]
pub struct Scripts {
    pub loader_src: &'static str,
    pub loader_integrity: String,
    pub module_src: &'static str,
    pub module_integrity: String,
    /// The page's own script, run after the loader.
    pub page_src: &'static str,
    pub page_integrity: String,
}

/// The scripts that use the module, one per kind of page.
#[derive(Debug, Clone, Copy)]
pub enum PageScript {
    /// The concern form: seals the concern in the browser.
    Reporter,
    /// The mailbox sign-in and the mailbox opened in the browser.
    Mailbox,
    /// The handler console: signs in without sending the password, keeps the handler's key in
    /// the browser, opens cases and seals replies there.
    Console,
}

static REPORTER_SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    loader_src: LOADER_PATH,
    loader_integrity: integrity(LOADER),
    module_src: MODULE_PATH,
    module_integrity: integrity(MODULE),
    page_src: REPORTER_PATH,
    page_integrity: integrity(REPORTER),
});

static MAILBOX_SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    loader_src: LOADER_PATH,
    loader_integrity: integrity(LOADER),
    module_src: MODULE_PATH,
    module_integrity: integrity(MODULE),
    page_src: MAILBOX_PATH,
    page_integrity: integrity(MAILBOX),
});

static CONSOLE_SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    loader_src: LOADER_PATH,
    loader_integrity: integrity(LOADER),
    module_src: MODULE_PATH,
    module_integrity: integrity(MODULE),
    page_src: CONSOLE_PATH,
    page_integrity: integrity(CONSOLE),
});

/// The script tags' sources and integrity values for a page that runs the crypto module.
pub fn crypto_scripts(page: PageScript) -> Scripts {
    match page {
        PageScript::Reporter => REPORTER_SCRIPTS.clone(),
        PageScript::Mailbox => MAILBOX_SCRIPTS.clone(),
        PageScript::Console => CONSOLE_SCRIPTS.clone(),
    }
}

/// Gives a page that loads [`crypto_scripts`] the policy that lets them run (the default
/// headers only fill in a policy where a response has none).
pub fn allow_crypto(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SCRIPT_CSP),
    );
    response
}

fn asset(content_type: &'static str, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        // Revalidated each time: after an upgrade a page's integrity values change with it.
        .insert_header(("Cache-Control", "no-cache"))
        .body(body)
}

pub async fn loader() -> HttpResponse {
    asset("text/javascript; charset=utf-8", LOADER)
}

pub async fn module() -> HttpResponse {
    asset("application/wasm", MODULE)
}

pub async fn reporter() -> HttpResponse {
    asset("text/javascript; charset=utf-8", REPORTER)
}

pub async fn mailbox() -> HttpResponse {
    asset("text/javascript; charset=utf-8", MAILBOX)
}

pub async fn console() -> HttpResponse {
    asset("text/javascript; charset=utf-8", CONSOLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_the_sha384_of_the_served_bytes() {
        // The SHA-384 of "abc" (FIPS 180-2 appendix D), in base64.
        assert_eq!(
            integrity(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
        let scripts = crypto_scripts(PageScript::Reporter);
        assert_eq!(scripts.module_integrity, integrity(MODULE));
        assert_eq!(scripts.page_integrity, integrity(REPORTER));
        let scripts = crypto_scripts(PageScript::Mailbox);
        assert_eq!(scripts.page_integrity, integrity(MAILBOX));
        assert_eq!(scripts.page_src, MAILBOX_PATH);
        assert!(MODULE.starts_with(b"\0asm"));
    }
}
