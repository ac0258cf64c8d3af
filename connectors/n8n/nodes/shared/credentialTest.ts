import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { CHECK_TIMEOUT_MS, checkCredential } from './credentialChecks';
import type { SwitchyardCredentialData } from './credentials';

/** The credential test of both nodes (`testedBy`): Gateway -> GET /v1/models; Direct -> every provider lists its models. */
export async function switchyardApiTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const data = (credential.data ?? {}) as SwitchyardCredentialData;
	return await checkCredential(data, async (settings) => {
		const { checkDirectProviders } = await import('../../vendor/switchyard-core');
		return await checkDirectProviders(settings, { deadlineMs: CHECK_TIMEOUT_MS });
	});
}
