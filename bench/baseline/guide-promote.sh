#!/usr/bin/env bash
# Phase 3 of Neon's "snapshot-based promotion workflow" guide, step by step as written: curl + jq,
# operations polled every 2 seconds with the guide's own loop. Two liberties. One: the guide shows the polling loop only
# after the restore, but Neon (and the emulator) refuse the next mutation with 423 while a project's operations run,
# so the same loop follows every call that returns operations. The other: the guide sends the snapshot's name and
# expires_at as a JSON body, which Neon ignores (createSnapshot takes them as query parameters), so the script sends
# them in the query. STEP lines on stderr time each step for the benchmark.
#
# Environment: NEON_API_KEY, NEON_API_BASE_URL (e.g. https://console.neon.tech/api/v2), PROJECT_ID;
# optional PROD_BRANCH_NAME (prod), DEV_BRANCH_NAME (dev).
set -euo pipefail
: "${NEON_API_KEY:?}" "${NEON_API_BASE_URL:?}" "${PROJECT_ID:?}"
API="$NEON_API_BASE_URL/projects/$PROJECT_ID"
PROD="${PROD_BRANCH_NAME:-prod}"
DEV="${DEV_BRANCH_NAME:-dev}"
# The guide names its snapshots by date; snapshot names are unique in a project (Neon's CLI documents it, and the
# emulator refuses a second), so a second promotion the same day needs the time as well.
TODAY=$(date -u +%Y-%m-%d-%H%M%S)-$$

step() { echo "STEP $1 $2 $(date +%s%3N)" >&2; }

neon() { # method path [json body]
  if [ $# -ge 3 ]; then
    curl --silent --show-error --fail-with-body --request "$1" --url "$API$2" \
      --header 'Accept: application/json' --header "Authorization: Bearer $NEON_API_KEY" \
      --header 'Content-Type: application/json' --data "$3"
  else
    curl --silent --show-error --fail-with-body --request "$1" --url "$API$2" \
      --header 'Accept: application/json' --header "Authorization: Bearer $NEON_API_KEY"
  fi
}

# "Polling operations after restore": each operation until finished, sleeping 2 s between polls.
poll() {
  for OP_ID in $(echo "$1" | jq -r '.operations[]?.id'); do
    while true; do
      STATUS=$(neon GET "/operations/$OP_ID" | jq -r '.operation.status')
      if [ "$STATUS" = "finished" ]; then break; fi
      if [ "$STATUS" = "failed" ]; then echo "Operation $OP_ID failed" >&2; exit 1; fi
      sleep 2
    done
  done
}

# Phase 1, step 1 (the IDs change with every finalized restore, so they are looked up each time).
step list_branches start
BRANCHES=$(neon GET /branches)
PROD_ID=$(echo "$BRANCHES" | jq -r --arg n "$PROD" '.branches[] | select(.name == $n) | .id')
DEV_ID=$(echo "$BRANCHES" | jq -r --arg n "$DEV" '.branches[] | select(.name == $n) | .id')
step list_branches end

# Step 1: snapshot prod for rollback. In the query, or the snapshot keeps no name and never expires, and every run
# leaves one more against the project's snapshot limit.
step snapshot_prod start
R=$(neon POST "/branches/$PROD_ID/snapshot?name=prod_pre_promotion_$TODAY&expires_at=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)")
poll "$R"
step snapshot_prod end

# Step 2: snapshot dev for promotion.
step snapshot_dev start
R=$(neon POST "/branches/$DEV_ID/snapshot?name=dev_promotion_candidate_$TODAY&expires_at=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)")
DEV_SNAPSHOT_ID=$(echo "$R" | jq -r '.snapshot.id')
poll "$R"
step snapshot_dev end

# Steps 3 and 4: restore the dev snapshot onto prod, finalized; poll its operations until finished.
step restore start
R=$(neon POST "/snapshots/$DEV_SNAPSHOT_ID/restore" "{\"target_branch_id\": \"$PROD_ID\", \"finalize_restore\": true}")
poll "$R"
step restore end

# Step 5: find and delete the backup branch ("prod (old)").
step delete_backup start
BACKUP_ID=$(neon GET /branches | jq -r --arg n "$PROD (old)" '[.branches[] | select(.name == $n)][0].id')
R=$(neon DELETE "/branches/$BACKUP_ID")
poll "$R"
step delete_backup end

# Step 6: delete the promotion snapshot.
step delete_snapshot start
R=$(neon DELETE "/snapshots/$DEV_SNAPSHOT_ID")
poll "$R"
step delete_snapshot end
