package chatcmd

import "strings"

// Our help text (upstream's Help.hs lists the same commands in its words).
var help = map[string]string{
	"": `Using smp-chat: type a command, or @name and a message.
  /help <topic>       more: /help contacts, groups, messages, address, incognito
  /c                  make a one-time invitation link for a new contact
  /c <link>           connect with an invitation or an address link
  /c --qr <image>     connect with the link in a QR code image
  @<name> <message>   send a message; a line without @ goes to the last chat
  /contacts, /chats   list your contacts, your chats with their last message
  /g <group>          create a group; #<group> <message> writes to it
  /ad                 make your long-term address (/sa shows it, /da deletes it)
  /tail [@name] [n]   show the last messages
  /p [name]           show or change your profile
  /users              list your profiles; /create user <name>, /user <name>
  /smp                show the relays in use
  /migrate to device [file]  move this profile to another device (the terminal only)
  /q                  quit`,
	"contacts": `Contacts:
  /c, /c i            make an invitation link (i: with a random profile)
  /c <link>, /c i <link>  use an invitation link
  /ac <name>, /rc <name>  accept or reject a contact request
  /d @<name>          delete a contact
  /i @<name>          show a contact's information
  /code @<name>, /verify @<name> <code>  compare security codes
  /switch @<name>, /sync @<name>  change the receiving queue, repair encryption`,
	"groups": `Groups:
  /g <group> [full name]        create a group
  /a <group> <name> [role]      invite a contact (role: owner, admin, moderator, member, observer)
  /j <group>                    join a group you are invited to
  /ms <group>, /gs              list members, list groups
  /rm <group> <member>          remove a member
  /mr <group> <member> <role>   change a member's role
  /l <group>, /d #<group>       leave, delete a group
  /create link #<group>         make a group link
  #<group> <message>            send to the group`,
	"messages": `Messages:
  @<name> <message>             send
  > @<name> (<quoted>) <reply>  reply to a message of the contact starting with <quoted>
  >> @<name> (<quoted>) <reply> reply to a message of yours
  > #<group> [@<member>] (<quoted>) <reply>  reply in a group (to anyone's, or the member's)
  ! @<name> (<old>) <new>       edit your message
  \ @<name> <text>              delete your message for everyone
  +1 @<name> <text>             react with 👍 (also +- +) +, +* +^ or any emoji; - removes)
  /tail [@name|#group] [n]      the last n messages (10)
  /search [@name|#group] [n] <text>  find messages
  /feed <message>               send to all your contacts
  /set disappear @<name> yes [5min|1h|day|...]|no   disappearing messages`,
	"address": `Your address:
  /ad                       make your long-term address
  /sa                       show it
  /da                       delete it (accepted contacts stay connected)
  /auto_accept on [text <message>]  accept requests automatically, replying with the message
  /auto_accept off`,
	"incognito": `Incognito:
  /c i, /c i <link>         a new random profile for this one contact (or address request)
  /ac i <name>              accept a contact request with a new random profile
  /auto_accept on incognito=on [text]  accept requests automatically, each incognito
  /g i <group>              create a group with a random profile (members join by its link)
  /incognito on|off         make every new connection incognito (or not)
  a group you are invited to over an incognito contact is joined with that profile`,
}

func helpLines(section string) []string {
	return strings.Split(help[section], "\n")
}
