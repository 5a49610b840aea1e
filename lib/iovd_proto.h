/* What iovd and its clients agree on without sharing code: the version, where the control
 * socket lives. The methods themselves are described by the interface text iovd serves
 * (GetInterfaceDescription; src/iovd_api.c). */
#ifndef IOV_LIB_IOVD_PROTO_H
#define IOV_LIB_IOVD_PROTO_H

#define IOVD_VERSION "0.1"
#define IOVD_INTERFACE "io.iovd"
#define IOVD_DEFAULT_SOCKET "/run/iovd/io.iovd"

#endif
