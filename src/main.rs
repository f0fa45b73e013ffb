//! The `latchkey` binary: everything lives in [`latchkey::cli`].

fn main() -> std::process::ExitCode {
    latchkey::cli::main()
}
