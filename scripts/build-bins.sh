# Sourced by bench/run.sh, scripts/soak.sh and scripts/crash-safety.sh:
# builds the binaries with the cargo profile in $BUILD_PROFILE (default
# release; CI's smoke runs pass `dev`, which `cargo test` has already built)
# and sets BIN and CLIENT.
BUILD_PROFILE=${BUILD_PROFILE:-release}
cargo build --profile "$BUILD_PROFILE" --bins --locked -q
if [ "$BUILD_PROFILE" = dev ]; then BIN_DIR=target/debug; else BIN_DIR=target/$BUILD_PROFILE; fi
BIN=$BIN_DIR/oauth-registry
CLIENT=$BIN_DIR/bench-client
echo "== binaries: $BUILD_PROFILE profile ($BIN_DIR)"
