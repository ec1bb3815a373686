#!/bin/sh
# gen_certs.sh: test PKI for the fake apiserver (openssl only).
#
#   gen_certs.sh OUTDIR [NODE [CLIENT_CN]]
#
# Writes into OUTDIR:
#   ca.crt ca.key               the cluster CA
#   server.crt server.key       apiserver cert for 127.0.0.1 / localhost (and
#                               the name "kubernetes.test", for tls-server-name tests)
#   client.crt client.key       CN=system:node:NODE, O=system:nodes (a kubelet's identity;
#                               CLIENT_CN replaces the CN, e.g. one cert for many nodes)
#   client.pem                  client cert + key in one file, like the kubelet's
#                               rotated /var/lib/kubelet/pki/kubelet-client-current.pem
#   other-ca.crt other-ca.key   an unrelated CA (wrong-CA tests)
#   other-client.crt/.key       a client cert signed by the unrelated CA
set -eu

out=${1:?usage: gen_certs.sh OUTDIR [NODE]}
node=${2:-node-1}
client_cn=${3:-system:node:$node}
mkdir -p "$out"
cd "$out"
umask 077

days=3650
ca() { # name subject
	openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days $days \
		-keyout "$1.key" -out "$1.crt" -subj "$2" \
		-addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # name subject ca ext-file
	openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$1.key" -out "$1.csr" \
		-subj "$2" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial \
		-days $days -sha256 -out "$1.crt" -extfile "$4" 2>/dev/null
	rm -f "$1.csr"
}

ca ca "/CN=fake-kubernetes-ca"
ca other-ca "/CN=some-other-ca"

cat >server.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.test
EXT
cat >client.ext <<EXT
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EXT

leaf server "/CN=kube-apiserver" ca server.ext
leaf client "/O=system:nodes/CN=$client_cn" ca client.ext
leaf other-client "/O=system:nodes/CN=system:node:$node" other-ca client.ext
cat client.crt client.key >client.pem
rm -f server.ext client.ext ./*.srl
