#!/bin/sh
# The desks' fonts: DejaVu Sans and Sans Bold cut down to the scripts a desk shows (Latin
# with its extensions for any European name, Greek, Cyrillic, the punctuation and arrows
# of the screens). Outlines and hinting are DejaVu's own, so the pictures are the same as
# with the full fonts; a fifth of the size, so each of the eleven sizes a desk draws maps
# a fifth of the pages (about 2.5 MB less resident), and no system font is needed.
# Made once with fonttools (pip install fonttools), from Debian's fonts-dejavu-core 2.37:
#   sh wallboard/desk/fonts/subset.sh /usr/share/fonts/truetype/dejavu
set -eu
source=${1:-/usr/share/fonts/truetype/dejavu}
here=$(dirname "$0")
for face in DejaVuSans DejaVuSans-Bold; do
    pyftsubset "$source/$face.ttf" --output-file="$here/$face.ttf" \
        --unicodes="U+0020-007E,U+00A0-024F,U+0370-03FF,U+0400-04FF,U+2010-2027,U+2030-203A,U+20AC,U+2190-2193,U+2212,U+2022,U+FFFD" \
        --layout-features='*' --glyph-names --notdef-outline \
        --name-IDs='*' --name-legacy --name-languages='*'
done
