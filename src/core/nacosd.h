/*
 * nacosd: version and identity.
 */
#ifndef ND_NACOSD_H
#define ND_NACOSD_H

#define ND_VERSION        "0.1.0"
#define ND_VER            "nacosd/" ND_VERSION
/* the Nacos server version we are wire-compatible with */
#define ND_NACOS_VERSION  "2.5.1"

#endif
