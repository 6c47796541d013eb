//! The `conaktiv-exchange` command line. See `conaktiv-exchange --help` and the exit codes in
//! the `cli` module.
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
