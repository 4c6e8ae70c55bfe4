//! `tolom`: the operator's command line. Everything lives in the
//! `tolom_cli` library; this is composition only.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    tolom_cli::main()
}
