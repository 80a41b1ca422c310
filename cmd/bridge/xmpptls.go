package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
)

// componentTLS builds the TLS client settings of the component link from
// --xmpp-component-tls, --xmpp-component-ca and --xmpp-component-tls-name:
// nil when TLS is off. The server's certificate is always verified (RFC
// 7590); there is no switch to skip that.
func componentTLS(on, caFile, name, addr string) (*tls.Config, error) {
	enabled, err := parseBool(on)
	if err != nil {
		return nil, err
	}
	caFile, name = strings.TrimSpace(caFile), strings.TrimSpace(name)
	if !enabled {
		if caFile != "" || name != "" {
			return nil, fmt.Errorf("--%s or --%s is set without TLS, so it would not be used", keyXMPPTLSCA, keyXMPPTLSName)
		}
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	if c.ServerName == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("no name to check the certificate against: %w", err)
		}
		c.ServerName = host
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("--%s: cannot read it: %w", keyXMPPTLSCA, unwrapPathError(err))
		}
		c.RootCAs = x509.NewCertPool()
		if !c.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--%s %s holds no PEM certificate", keyXMPPTLSCA, caFile)
		}
	}
	return c, nil
}
