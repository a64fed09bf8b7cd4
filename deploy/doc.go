// Package deploy holds no code: its tests check the files that install
// smp-server (../Dockerfile, smp-server.service) with what runs here,
// without Docker or a running systemd.
package deploy
