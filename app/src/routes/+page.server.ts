import type { PageServerLoad } from './$types';
import { currentServices } from '../../../server/services.ts';

export const load: PageServerLoad = async () => ({ classes: await currentServices().classes.listLiveAndUpcoming() });
