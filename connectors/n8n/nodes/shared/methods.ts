import type { ILoadOptionsFunctions, INodePropertyOptions } from 'n8n-workflow';
import { switchyardClient } from './client';
import { switchyardApiTest } from './credentialTest';
import { CREDENTIAL_TEST } from './credentials';

/** The model dropdown and the credential test, the same for every Switchyard node. */
export const switchyardMethods = {
	loadOptions: {
		async getModels(this: ILoadOptionsFunctions): Promise<INodePropertyOptions[]> {
			const client = await switchyardClient(this);
			try {
				return await client.models();
			} finally {
				await client.close();
			}
		},
	},
	credentialTest: { [CREDENTIAL_TEST]: switchyardApiTest },
};
