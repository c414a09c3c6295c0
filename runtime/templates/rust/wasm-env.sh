# Sourced by ./build: sets up cargo to build a WebAssembly component for
# wasm32-unknown-unknown. Route: Debian's rustc-web (it ships the std source) with
# -Zbuild-std, linked by rustup's wasm-component-ld, which writes a component directly.
# On Debian 12: `apt-get install rustc-web cargo-web rust-web-src`, plus rustup's stable
# toolchain (for wasm-component-ld). Then build with Debian's cargo:
#   /usr/bin/cargo build --release -Zbuild-std=std,panic_abort --target wasm32-unknown-unknown
# (The ILM runtime's own scripts/build-plugins sources this same file.)

if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
  echo "wasm-env: Debian's rustc with its std source is missing: apt-get install rustc-web cargo-web rust-web-src" >&2
  return 1
fi
if ! wasm_sysroot=$(rustc +stable --print sysroot 2>/dev/null); then
  echo "wasm-env: rustup's stable toolchain is missing (it ships wasm-component-ld): install rustup, then rustup toolchain install stable" >&2
  return 1
fi
wasm_linker_bin="$wasm_sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin"
for wasm_tool in "$wasm_linker_bin/wasm-component-ld" "$wasm_linker_bin/gcc-ld/wasm-ld"; do
  if [ ! -x "$wasm_tool" ]; then
    echo "wasm-env: $wasm_tool is missing (rustup's stable toolchain ships it)" >&2
    return 1
  fi
done

export RUSTC=/usr/bin/rustc     # Debian's, whose std source -Zbuild-std compiles
export RUSTC_BOOTSTRAP=1        # -Zbuild-std on a stable compiler
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$wasm_linker_bin/wasm-component-ld"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C link-arg=--wasm-ld-path=$wasm_linker_bin/gcc-ld/wasm-ld"
# A RUSTFLAGS meant for the host build would replace the linker flag above and rebuild std.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS
