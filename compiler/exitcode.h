/* Exit statuses of routec and routevm; stable, documented in the README. */
#ifndef RV_EXITCODE_H
#define RV_EXITCODE_H

enum {
    RC_OK = 0,        /* clean: no errors (and no warnings under -Werror) */
    RC_FINDINGS = 1,  /* the policy has errors, a test failed, a file was rejected */
    RC_USAGE = 2      /* bad command line, unreadable file, I/O error */
};

#endif
