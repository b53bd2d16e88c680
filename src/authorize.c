/* authorize.c: --authorize; see authorize.h. */
#include "authorize.h"

#include <string.h>

#include "oauth.h"
#include "prepare.h"

int
authorize_run(const struct cli *c, FILE *out, struct error *err)
{
	struct oauth_opts o;
	struct oauth_reply r;
	struct prepared p;
	struct request req;
	int ret;

	(void)out;
	memset(&p, 0, sizeof(p));
	prepare_request_from_cli(&req, c);
	if ((ret = prepare(&p, &req, err)) == 0) {
		if (!account_oauth(p.acc))
			ret = error_set(err, ERR_CONFIG,
			    "account %s has no OAuth2 settings: set "
			    "oauth2_provider (google, microsoft or discover) "
			    "or oauth2_token_endpoint",
			    p.acc->name);
		else {
			memset(&o, 0, sizeof(o));
			o.terminal = 1;
			o.flow = c->flow;
			o.verbose = c->verbose;
			fflush(stdout);
			if ((ret = oauth_run(p.acc, "authorize", &o, &r,
				 err)) == 0)
				oauth_reply_free(&r);
		}
	}
	prepare_free(&p);
	return ret;
}
