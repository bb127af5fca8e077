# Sourced by bench/run.sh, scripts/soak.sh and scripts/crash-safety.sh:
# builds the binaries with the cargo profile in $BUILD_PROFILE (default
# release; CI's smoke runs pass `test`, the profile `cargo test` builds its
# binaries with, so nothing is compiled again) and sets BIN and CLIENT.
BUILD_PROFILE=${BUILD_PROFILE:-release}
cargo build --profile "$BUILD_PROFILE" --bins --locked -q
case "$BUILD_PROFILE" in
  dev|test) BIN_DIR=target/debug ;;
  *) BIN_DIR=target/$BUILD_PROFILE ;;
esac
BIN=$BIN_DIR/oauth-registry
CLIENT=$BIN_DIR/bench-client
echo "== binaries: $BUILD_PROFILE profile ($BIN_DIR)"
