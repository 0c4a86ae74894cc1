// gRPC's callback API answers a unary request it cannot parse (malformed
// protobuf, or a string field that is not UTF-8) with UNIMPLEMENTED and no
// message, as if the method did not exist. This interceptor notices the
// failed parse (the received message is null after POST_RECV_MESSAGE) and
// turns that answer into INVALID_ARGUMENT naming the method and the likely
// causes. Streams are left alone: there gRPC reports an unparseable message
// to the reactor as a failed read, the end of the client's messages.
#ifndef LINESERVE_SERVER_SERVICE_MALFORMED_REQUEST_INTERCEPTOR_H_
#define LINESERVE_SERVER_SERVICE_MALFORMED_REQUEST_INTERCEPTOR_H_

#include <grpcpp/support/server_interceptor.h>

#include <memory>

namespace lineserve {

// For ServerBuilder::experimental().SetInterceptorCreators.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
MalformedRequestInterceptorFactory();

}  // namespace lineserve

#endif  // LINESERVE_SERVER_SERVICE_MALFORMED_REQUEST_INTERCEPTOR_H_
