# Sourced by bench/run.sh, scripts/soak.sh and scripts/crash-safety.sh:
# builds the binaries with the cargo profile in $BUILD_PROFILE (default
# release; CI's smoke runs pass `test`, the profile `cargo test` builds its
# binaries with, so nothing is compiled again) into $CARGO_TARGET_DIR
# (default target) and sets BIN, CLIENT and WATCH (bench-watch), and
# PROFILE_DIR (the profile's folder under a target directory).
BUILD_PROFILE=${BUILD_PROFILE:-release}
if [ "$BUILD_PROFILE" = test ]; then
  # The binaries `cargo test` builds for the integration tests, with the
  # features the dev-dependencies unify in: `cargo build --profile test`
  # resolves features without them and rebuilt ~70 s of crates in CI.
  cargo test --no-run --locked -q
else
  cargo build --profile "$BUILD_PROFILE" --bins --locked -q
fi
case "$BUILD_PROFILE" in
  dev|test) PROFILE_DIR=debug ;;
  *) PROFILE_DIR=$BUILD_PROFILE ;;
esac
BIN_DIR=${CARGO_TARGET_DIR:-target}/$PROFILE_DIR
BIN=$BIN_DIR/oauth-registry
CLIENT=$BIN_DIR/bench-client
WATCH=$BIN_DIR/bench-watch
echo "== binaries: $BUILD_PROFILE profile ($BIN_DIR)"
