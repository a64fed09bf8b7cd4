# smp-server, smpkit's reference SMP relay, as a static binary in an empty
# image, running as an unprivileged user with its data in /data.
#
#   docker build -t smpkit/smp-server .
#   docker run --rm -v smp-data:/data smpkit/smp-server init --host relay.example.com
#   docker run -d --name smp -p 5223:5223 -v smp-data:/data smpkit/smp-server
#
# For the control port (smp-server init --control-port), run the operator
# commands inside the container: docker exec smp /smp-server block --id ID

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/smp-server ./cmd/smp-server \
 && /out/smp-server --version \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /out/smp-server /smp-server
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
ENV SMP_SERVER_DIR=/data
VOLUME /data
EXPOSE 5223
ENTRYPOINT ["/smp-server"]
CMD ["start", "--log-format", "json"]
