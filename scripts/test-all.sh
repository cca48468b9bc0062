#!/usr/bin/env bash
# The whole test suite, as the README's second command runs it (`pnpm test` from the repo root):
# prepares the machine (Docker Engine, PostgreSQL, Chromium), builds the sandbox image, then runs
# typecheck, lint, unit, integration (PGlite + PostgreSQL + Docker), SDK and CLI, sandbox and browser suites.
# Every step runs even if an earlier one failed, so one run shows every failure; the exit code is non-zero
# if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
pnpm() { if command -v pnpm >/dev/null 2>&1; then command pnpm "$@"; else npx -y pnpm@10 "$@"; fi; }

results_dir=$(mktemp -d)
export OS2_TEST_RESULTS_DIR="$results_dir"
failed_steps=()
passed_steps=()

step() {
  local name="$1"; shift
  echo
  echo "=== $name ==="
  local started=$SECONDS
  if "$@"; then
    passed_steps+=("$name")
    echo "=== $name: ok ($((SECONDS - started)) s) ==="
  else
    failed_steps+=("$name")
    echo "=== $name: FAILED ($((SECONDS - started)) s) ==="
  fi
}

env_exports=$(bash scripts/ensure-test-env.sh) || { echo "Test environment could not be prepared." >&2; exit 1; }
eval "$env_exports"

step "typecheck" pnpm -r --no-bail typecheck
step "lint (ESLint, Prettier)" pnpm lint
step "sandbox image (pnpm snapshot:local-docker)" pnpm snapshot:local-docker
json() { echo "--reporter=default --reporter=json --outputFile.json=$results_dir/$1.json"; }
# shellcheck disable=SC2046
step "daemon tests" pnpm --filter @os2/daemon test $(json daemon)
# shellcheck disable=SC2046
step "control plane unit tests" pnpm --filter os2 exec vitest run --project unit $(json os2-unit)
# shellcheck disable=SC2046
step "control plane integration tests (PGlite, PostgreSQL, Docker)" pnpm --filter os2 exec vitest run --project integration $(json os2-integration)
# Both packages in one step each; a failure in the first still runs the second.
# shellcheck disable=SC2046
sdk_cli() { local rc=0; pnpm --filter @os2/sdk "$1" $(json "sdk-$1") || rc=1; pnpm --filter @os2/cli "$1" $(json "cli-$1") || rc=1; return $rc; }
step "SDK and CLI unit tests" sdk_cli test
step "SDK and CLI end to end (real server, Docker machines)" sdk_cli test:e2e
# shellcheck disable=SC2046
step "sandbox image tests" pnpm --filter os2 test:sandbox $(json sandbox)
export PLAYWRIGHT_JSON_OUTPUT_NAME="$results_dir/e2e.json"
step "browser tests (Playwright, Chromium)" pnpm --filter os2 test:e2e
step "browser tests: analytics (Playwright, PostHog stand-in)" pnpm --filter os2 test:e2e:analytics

echo
if [ ${#failed_steps[@]} -gt 0 ]; then printf 'failed step: %s\n' "${failed_steps[@]}"; fi
echo "steps: ${#passed_steps[@]} passed, ${#failed_steps[@]} failed"
# Last line: the total over every test runner's JSON report.
node scripts/summarize-results.mjs "$results_dir" || true
[ ${#failed_steps[@]} -eq 0 ]
