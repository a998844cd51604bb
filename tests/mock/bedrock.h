/* The Bedrock Converse / ConverseStream dialect (bedrock.c): verifies the
   SigV4 signature and answers one request to /model/{id}/converse or
   /model/{id}/converse-stream into 'res'. */
#ifndef MOCK_BEDROCK_H
#define MOCK_BEDROCK_H

#include "dialect.h"

void bed_handle(const dl_config *cfg, const http_request *req, dl_result *res);

#endif
