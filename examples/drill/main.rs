//! Load drills against running Latchkey servers on 127.0.0.1, driven by `scripts/soak.sh` and
//! `scripts/replicas.sh` (which start and kill the servers and the database): mixed OAuth 2.0 /
//! OpenID Connect load (RFC 6749 §4.1 with RFC 7636 PKCE through the hosted login form, §4.3, §4.4,
//! §6; RFC 7662, RFC 7009, RFC 7517, RFC 7591/7592), every access token verified with an
//! independent JWT library against the served JWKS, and every refresh token accounted for.
//!
//! ```text
//! drill setup    --latchkey BIN --out FILE [--users N]
//! drill soak     --setup FILE --target URL… --issuer URL --duration S [--concurrency N]
//!                [--phase NAME] [--outage none|database|replica] [--events FILE]
//!                [--pid-file FILE…] [--recovery-goal S]
//! drill replicas --setup FILE --latchkey BIN --target URL URL URL --issuer URL --duration S
//!                [--concurrency N] [--events FILE] [--pid-file FILE…] [--lockout N]
//!                [--change-bound-ms MS] [--ready-file FILE]
//! ```
//!
//! The setup step registers its clients and users with the `latchkey` CLI (`--json`), so the
//! environment of the scripts (database URL, master key) decides which database it writes.
//! Exit status: 0 when every goal is met, 1 when one is missed, 2 on bad arguments.

mod args;
mod flows;
mod net;
mod replicas;
mod report;
mod rotation;
mod setup;
mod soak;
mod verify;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut raw = std::env::args().skip(1);
    let command = raw.next().unwrap_or_default();
    let parsed = match args::Args::parse(raw) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("drill: {e:#}");
            return ExitCode::from(2);
        }
    };
    let result = match command.as_str() {
        "setup" => setup::run(&parsed).map(|()| true),
        "soak" => soak::run(&parsed).await,
        "replicas" => replicas::run(&parsed).await,
        _ => {
            eprintln!("usage: drill setup|soak|replicas [OPTIONS] (see the module header)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("drill: {e:#}");
            ExitCode::from(2)
        }
    }
}
