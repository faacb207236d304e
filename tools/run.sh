#!/bin/sh
# make run: lays out ./var/appliance on first use, then runs pcad in the
# foreground.
set -eu
DIR=${APPLIANCE_DIR:-var/appliance}
if [ ! -f "$DIR/pcad.conf" ]; then
	mkdir -p "$(dirname "$DIR")"
	bin/pcactl init "$DIR"
fi
ABS=$(cd "$DIR" && pwd)
PORT=$(sed -n 's/^listen = 127.0.0.1:\([0-9]*\)$/\1/p' "$DIR/pcad.conf" | head -1)
cat <<EOT

OpenPCA appliance in $ABS.  In another terminal, try:

  AWS_SHARED_CREDENTIALS_FILE=$ABS/credentials aws acm-pca list-certificate-authorities --endpoint-url https://127.0.0.1:$PORT --ca-bundle $ABS/tls/ca.pem --region $(sed -n 's/^region = //p' "$DIR/pcad.conf" | head -1)

or the offline CLI:  PCACTL_CONFIG=$ABS/pcad.conf bin/pcactl ca list

EOT
exec bin/pcad --config "$DIR/pcad.conf"
