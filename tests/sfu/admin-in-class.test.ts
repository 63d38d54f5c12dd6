// An admin in someone else's live class, over real sockets: they may enter without being enrolled, watch in
// real time whatever the seat cap, see what the staff see and moderate (chat, mute, stage, polls, hands, end the
// class); they may not go live, publish, take part as a student (hands, votes, the stage) or be muted or
// removed, and they never count as a student viewer.
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, Poll, Question } from '../../server/contracts/interaction.ts';
import type { PresencePush } from '../../server/contracts/live-class.ts';
import { registerPeople, type People } from '../helpers/people.ts';
import { insertClass } from '../helpers/live-class.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { connectAs, errorOf, joinAs, nextChatMessage, nextEvent, ok } from '../helpers/socket-client.ts';
import { goLiveWithSendTransport, micRtpParameters, produceFake } from './fixtures.ts';

describe('an admin in a live class', () => {
  let server: TestServer;
  let people: People;
  let classId: string;
  const sockets: Socket[] = [];
  const join = async (person: People[keyof People]): Promise<Socket> => {
    const socket = await joinAs(server.url, person, classId);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    // One real-time seat: the student takes it, and the admin must still get real time.
    server = await startTestServer({ env: { LECTERN_MAX_WEBRTC_VIEWERS: '1' } });
    people = await registerPeople(server);
    ({ classId } = await insertClass(server.db, {
      teacherId: people.teacher.user.id,
      studentIds: [people.student.user.id],
      title: 'Admin visits',
      courseTitle: 'Admin course',
      live: false,
    }));
  });
  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  it('watches and moderates, but neither goes live, publishes, takes part as a student nor can be moderated', async () => {
    const { teacher: teacherPerson, student: studentPerson, admin: adminPerson, outsider } = people;
    const admin = await connectAs(server.url, adminPerson);
    sockets.push(admin);
    // Not enrolled, still in, as an admin; someone else not enrolled is refused.
    expect(await ok(admin, 'class:join', { classId })).toMatchObject({ role: 'admin', status: 'scheduled' });
    expect((await errorOf(await connectAs(server.url, outsider), 'class:join', { classId })).code).toBe('forbidden');

    // Only the class's teacher goes live.
    expect(await errorOf(admin, 'class:goLive')).toMatchObject({ code: 'forbidden' });
    const teacher = await join(teacherPerson);
    const { rtp, send } = await goLiveWithSendTransport(teacher);
    const camera = await produceFake(teacher, send.id, 'camera');

    // The student takes the only real-time seat; the admin still watches in real time and consumes the camera.
    const student = await join(studentPerson);
    await ok(student, 'sfu:getRouterRtpCapabilities');
    expect(await ok(student, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities })).toMatchObject({ mode: 'webrtc' });
    expect(await ok(admin, 'sfu:getRouterRtpCapabilities')).toMatchObject({ mode: 'webrtc' });
    // The staff's view of who is here: the admin sees names, is listed as an admin, and is no student.
    const adminView = nextEvent<PresencePush>(admin, 'presence:update', (p) =>
      p.viewers.some((v) => v.userId === adminPerson.user.id && v.mode === 'webrtc'),
    );
    const studentView = nextEvent<PresencePush>(student, 'presence:update');
    const adminMedia = await ok(admin, 'sfu:join', { rtpCapabilities: rtp.routerRtpCapabilities });
    expect(adminMedia).toMatchObject({ mode: 'webrtc', onStage: false });
    expect(adminMedia.sources.map((s: { producerId: string }) => s.producerId)).toEqual([camera.producerId]);
    await ok(admin, 'sfu:createTransport', { direction: 'recv' });
    expect(await ok(admin, 'sfu:consume', { producerId: camera.producerId })).toMatchObject({ kind: 'video', source: 'camera' });

    // An admin publishes nothing: no send transport, no producer, and the stage is for students.
    expect(await errorOf(admin, 'sfu:createTransport', { direction: 'send' })).toMatchObject({ code: 'forbidden' });
    expect(
      await errorOf(admin, 'sfu:produce', { transportId: send.id, kind: 'audio', rtpParameters: micRtpParameters(), source: 'mic' }),
    ).toMatchObject({ code: 'forbidden' });
    expect(await errorOf(teacher, 'stage:invite', { userId: adminPerson.user.id })).toMatchObject({ code: 'not_found' });
    expect(await errorOf(admin, 'stage:answer', { accept: true })).toMatchObject({ code: 'not_invited' });

    // Presence as the admin and the student received it.
    const viewers = (await adminView).viewers;
    expect(viewers.find((v) => v.userId === adminPerson.user.id)).toMatchObject({ role: 'admin', mode: 'webrtc' });
    expect((await adminView).studentCount).toBe(1);
    expect((await studentView).viewers).toEqual([]);

    // Moderation: the admin deletes a student's message, mutes and unmutes them, sees who asked anonymously.
    const sent = await ok<ChatMessage>(student, 'chat:send', { body: 'something rude' });
    const deleted = nextEvent(student, 'chat:deleted');
    await ok(admin, 'chat:delete', { messageId: sent.id });
    expect(await deleted).toMatchObject({ messageId: sent.id });
    await ok(admin, 'moderation:mute', { userId: studentPerson.user.id, muted: true });
    expect(await errorOf(student, 'chat:send', { body: 'muted now' })).toMatchObject({ code: 'muted' });
    await ok(admin, 'moderation:mute', { userId: studentPerson.user.id, muted: false });
    const adminSeesAsker = nextEvent<Question>(admin, 'question:updated');
    await ok(student, 'question:ask', { body: 'Who am I?', anonymous: true });
    expect((await adminSeesAsker).author?.displayName).toBe(studentPerson.user.displayName);

    // Polls and hands: the admin runs them, but neither votes nor raises a hand.
    const poll = await ok<Poll>(admin, 'poll:create', { question: 'Ready?', options: [{ label: 'Yes' }, { label: 'No' }] });
    expect(await errorOf(admin, 'poll:vote', { pollId: poll.id, optionIds: [poll.options[0]!.id] })).toMatchObject({
      code: 'forbidden',
    });
    await ok(student, 'poll:vote', { pollId: poll.id, optionIds: [poll.options[0]!.id] });
    expect(await errorOf(admin, 'hand:raise')).toMatchObject({ code: 'forbidden' });
    await ok(student, 'hand:raise');
    expect(await ok(admin, 'hand:lower', { userId: studentPerson.user.id })).toMatchObject({ lowered: true, hands: [] });

    // The stage: the admin invites the student and takes them off again.
    await ok(admin, 'stage:invite', { userId: studentPerson.user.id });
    expect(await ok(student, 'stage:answer', { accept: true })).toEqual({ onStage: true });
    const offStage = nextEvent(student, 'stage:update', (s) => !s.userIds.includes(studentPerson.user.id));
    await ok(admin, 'stage:remove', { userId: studentPerson.user.id });
    await offStage;

    // Nobody mutes or removes an admin (nor the teacher), and an admin is not a student to remove from view.
    expect(await errorOf(teacher, 'moderation:mute', { userId: adminPerson.user.id, muted: true })).toMatchObject({ code: 'forbidden' });
    expect(await errorOf(teacher, 'moderation:remove', { userId: adminPerson.user.id })).toMatchObject({ code: 'forbidden' });
    expect(await errorOf(admin, 'moderation:remove', { userId: teacherPerson.user.id })).toMatchObject({ code: 'forbidden' });
    expect(await ok(admin, 'interaction:sync')).toBeTruthy(); // still in the class

    // The admin's chat reads as staff's, then they end the class for everyone.
    const seenByStudent = nextChatMessage(student, (m) => m.body === 'The class ends now');
    await ok(admin, 'chat:send', { body: 'The class ends now' });
    expect((await seenByStudent).author.role).toBe('admin');
    const ended = nextEvent(student, 'class:status', (s) => s.status === 'ended');
    expect(await ok(admin, 'class:end')).toMatchObject({ status: 'ended' });
    await ended;

    // No attendance is kept for the admin: the class's analytics count the one student.
    const analytics = await teacherPerson.client.get(`/api/classes/${classId}/analytics`);
    expect(analytics.status).toBe(200);
    expect(JSON.stringify(analytics.body)).not.toContain(adminPerson.user.id);
    expect(JSON.stringify(analytics.body)).toContain(studentPerson.user.id);
  });
});
